#include "model/chunked_cross_entropy.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <string>

#include "common/error.h"

namespace symtune {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// fp32 logits of rows [start, start + n).
at::Tensor chunk_logits(const at::Tensor& hidden_NC, const at::Tensor& weight_VC, int64_t start, int64_t n) {
  return at::linear(hidden_NC.narrow(0, start, n), weight_VC).to(at::kFloat);
}

// Per chunk the reference's own ops (log_softmax, its backward), so each row's log-probability
// and logit gradient are the reference's; the sums over rows are ordered differently.
struct ChunkedCrossEntropy : torch::autograd::Function<ChunkedCrossEntropy> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden_NC, const at::Tensor& weight_VC,
                            const at::Tensor& labels_N, int64_t chunk_rows) {
    const int64_t N = hidden_NC.size(0);
    at::Tensor loss = at::zeros({}, hidden_NC.options().dtype(at::kFloat));
    for (int64_t start = 0; start < N; start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      const at::Tensor log_probs = at::log_softmax(chunk_logits(hidden_NC, weight_VC, start, n), 1);
      loss.sub_(log_probs.gather(1, labels_N.narrow(0, start, n).unsqueeze(1)).sum());
    }
    ctx->save_for_backward({hidden_NC, weight_VC, labels_N});
    ctx->saved_data["chunk_rows"] = chunk_rows;
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    const at::Tensor &hidden_NC = s[0], &weight_VC = s[1], &labels_N = s[2];
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const at::Tensor minus_grad = -grads[0].to(at::kFloat);  // d loss / d log p(label), a scalar
    const bool want_hidden = ctx->needs_input_grad(0), want_weight = ctx->needs_input_grad(1);
    const int64_t N = hidden_NC.size(0);
    at::Tensor grad_hidden = want_hidden ? at::empty_like(hidden_NC) : at::Tensor();
    at::Tensor grad_weight;  // chunks' products summed in fp32, rounded to the weight's dtype at the end
    for (int64_t start = 0; start < N && (want_hidden || want_weight); start += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - start);
      const at::Tensor log_probs = at::log_softmax(chunk_logits(hidden_NC, weight_VC, start, n), 1);
      const at::Tensor grad_log_probs =
          at::zeros_like(log_probs).scatter_(1, labels_N.narrow(0, start, n).unsqueeze(1), minus_grad.expand({n, 1}));
      // In the model's dtype for the matmuls, as the reference's cast back to it does.
      const at::Tensor grad_logits =
          at::_log_softmax_backward_data(grad_log_probs, log_probs, 1, at::kFloat).to(hidden_NC.scalar_type());
      if (want_hidden) grad_hidden.narrow(0, start, n).copy_(at::mm(grad_logits, weight_VC));
      if (want_weight) {
        const at::Tensor part = at::mm(grad_logits.t(), hidden_NC.narrow(0, start, n));
        if (grad_weight.defined()) grad_weight.add_(part);
        else grad_weight = part.to(at::kFloat);
      }
    }
    if (want_weight && !grad_weight.defined()) grad_weight = at::zeros_like(weight_VC);  // no rows
    return {grad_hidden, want_weight ? grad_weight.to(weight_VC.scalar_type()) : at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

at::Tensor chunked_cross_entropy_sum(const at::Tensor& hidden_NC, const at::Tensor& weight_VC,
                                     const at::Tensor& labels_N, int64_t chunk_rows) {
  if (hidden_NC.dim() != 2 || weight_VC.dim() != 2 || labels_N.dim() != 1 || hidden_NC.size(0) != labels_N.size(0) ||
      hidden_NC.size(1) != weight_VC.size(1) || labels_N.scalar_type() != at::kLong || chunk_rows < 1)
    throw Error("chunked cross-entropy: expected hidden [N, C], weight [V, C], int64 labels [N] and chunk_rows >= 1");
  return ChunkedCrossEntropy::apply(hidden_NC.contiguous(), weight_VC, labels_N.contiguous(), chunk_rows);
}

int64_t cross_entropy_chunk_rows(int64_t vocab_size) {
  return std::max<int64_t>(64, (int64_t{1} << 25) / std::max<int64_t>(vocab_size, 1));
}

}  // namespace symtune

#include "model/generate.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "common/error.h"
#include "common/stop_signal.h"

namespace symtune {

std::vector<int64_t> generate(Transformer& model, const std::vector<int64_t>& prompt, const GenerateOptions& options) {
  if (prompt.empty()) throw Error("generate: the prompt is empty (it needs at least a BOS token)");
  if (options.temperature < 0) throw Error("generate: temperature must be >= 0");
  at::NoGradGuard no_grad;
  KVCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size()) + options.max_new_tokens);
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  at::Tensor input = at::tensor(prompt, at::kLong).unsqueeze(0);
  std::vector<int64_t> out;
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    throw_if_stop_requested("generate");
    at::Tensor logits_V = model.forward_cached(input, cache).select(1, -1).squeeze(0).to(at::kCPU, at::kFloat);
    int64_t next;
    if (options.temperature == 0.0) {
      next = logits_V.argmax().item<int64_t>();
    } else {
      at::Tensor scaled = logits_V / options.temperature;
      if (options.top_k > 0 && options.top_k < scaled.size(0)) {
        at::Tensor kth = std::get<0>(scaled.topk(options.top_k)).select(0, -1);
        scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
      }
      next = at::multinomial(at::softmax(scaled, 0), 1, false, gen).item<int64_t>();
    }
    out.push_back(next);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end()) break;
    input = at::tensor(std::vector<int64_t>{next}, at::kLong).unsqueeze(0);
  }
  return out;
}

}  // namespace symtune

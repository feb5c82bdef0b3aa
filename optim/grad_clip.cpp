#include "optim/grad_clip.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace symtune {

at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return at::zeros({}, at::kFloat);
  // Norms in fp32 whatever the gradient dtype: a bf16 sum of squares loses the small ones.
  std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2, at::kFloat);
  at::Tensor total = at::linalg_vector_norm(at::stack(norms), 2);
  if (max_norm > 0) {
    // coef = min(1, max_norm / (norm + 1e-6)); where the norm is not finite, 1 (no change).
    at::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    coef = at::where(total.isfinite(), coef, at::ones_like(coef));
    at::_foreach_mul_(grads, coef);
  }
  return total;
}

}  // namespace symtune

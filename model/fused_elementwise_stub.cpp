// Builds without CUDA (or without nvcc) have no fused element-wise kernels; the model never
// selects them there, and asking for them by name is refused.
#include "common/error.h"
#include "model/fused_elementwise.h"
#include "model/fused_elementwise_launch.h"

namespace symtune {

bool fused_elementwise_compiled() { return false; }

[[noreturn]] static void not_compiled() {
  throw Error("fused element-wise kernels are not compiled into this build (it needs a CUDA LibTorch and nvcc)");
}

void launch_swiglu_forward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&) { not_compiled(); }
void launch_swiglu_backward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                 const at::Tensor&) {
  not_compiled();
}
void launch_rope_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int) {
  not_compiled();
}

}  // namespace symtune

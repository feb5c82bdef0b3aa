#include "model/fused_elementwise.h"
#include "model/fused_elementwise_launch.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "common/error.h"

namespace symtune {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void require_cuda_pair(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (!fused_elementwise_compiled()) throw Error(std::string(what) + ": this build has no fused CUDA kernels");
  if (!a.is_cuda() || a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type())
    throw Error(std::string(what) + ": expected two CUDA tensors of one shape and dtype");
}

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    const at::Tensor g = gate.contiguous(), u = up.contiguous();
    at::Tensor out = at::empty_like(g);
    launch_swiglu_forward(g, u, out);
    ctx->save_for_backward({g, u});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    at::Tensor grad_gate = at::empty_like(s[0]), grad_up = at::empty_like(s[1]);
    launch_swiglu_backward(grads[0].contiguous(), s[0], s[1], grad_gate, grad_up);
    return {grad_gate, grad_up};
  }
};

struct RopeFunction : torch::autograd::Function<RopeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
    launch_rope(x.contiguous(), cos, sin, out, +1);
    ctx->save_for_backward({cos, sin});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    at::Tensor grad = grads[0].contiguous();
    at::Tensor grad_x = at::empty_like(grad);
    launch_rope(grad, s[0], s[1], grad_x, -1);
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor fused_swiglu(const at::Tensor& gate, const at::Tensor& up) {
  require_cuda_pair(gate, up, "fused_swiglu");
  return SwigluFunction::apply(gate, up);
}

at::Tensor fused_rope(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD) {
  require_cuda_pair(cos_BTD, sin_BTD, "fused_rope");
  if (x_BTHD.dim() != 4 || cos_BTD.dim() != 3 || x_BTHD.size(0) != cos_BTD.size(0) ||
      x_BTHD.size(1) != cos_BTD.size(1) || x_BTHD.size(3) != cos_BTD.size(2) || x_BTHD.size(3) % 2 != 0 ||
      x_BTHD.scalar_type() != cos_BTD.scalar_type() || !x_BTHD.is_cuda())
    throw Error("fused_rope: expected x [B, T, H, D] and cos/sin [B, T, D] of one dtype on CUDA, D even");
  return RopeFunction::apply(x_BTHD, cos_BTD.contiguous(), sin_BTD.contiguous());
}

}  // namespace symtune

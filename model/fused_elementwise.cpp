#include "model/fused_elementwise.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "common/error.h"
#include "common/float_dispatch.h"
#include "model/fused_elementwise_launch.h"

namespace symtune {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void require_pair(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (a.is_cuda() && !fused_elementwise_compiled())
    throw Error(std::string(what) + ": this build has no fused CUDA kernels");
  if (!(a.is_cuda() || a.is_cpu()) || a.device() != b.device() || a.sizes() != b.sizes() ||
      a.scalar_type() != b.scalar_type())
    throw Error(std::string(what) + ": expected two tensors of one shape, dtype and device (CUDA or CPU)");
}

// The CPU versions: the same single pass per element as the CUDA kernels, through the same
// formulas (fused_math), so the CPU checks the arithmetic and the autograd wiring they share.
void swiglu_forward(const at::Tensor& gate, const at::Tensor& up, const at::Tensor& out) {
  if (gate.is_cuda()) return launch_swiglu_forward_cuda(gate, up, out);
  dispatch_float_type(gate.scalar_type(), "fused_swiglu: tensors", [&](auto tag) {
    using T = decltype(tag);
    const T* g = gate.const_data_ptr<T>();
    const T* u = up.const_data_ptr<T>();
    T* o = out.mutable_data_ptr<T>();
    at::parallel_for(0, gate.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        o[i] = static_cast<T>(fused_math::swiglu(static_cast<float>(g[i]), static_cast<float>(u[i])));
    });
  });
}

void swiglu_backward(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up, const at::Tensor& grad_gate,
                     const at::Tensor& grad_up) {
  if (gate.is_cuda()) return launch_swiglu_backward_cuda(grad, gate, up, grad_gate, grad_up);
  dispatch_float_type(gate.scalar_type(), "fused_swiglu: tensors", [&](auto tag) {
    using T = decltype(tag);
    const T* dh = grad.const_data_ptr<T>();
    const T* g = gate.const_data_ptr<T>();
    const T* u = up.const_data_ptr<T>();
    T* dg = grad_gate.mutable_data_ptr<T>();
    T* du = grad_up.mutable_data_ptr<T>();
    at::parallel_for(0, gate.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float gg, gu;
        fused_math::swiglu_backward(static_cast<float>(dh[i]), static_cast<float>(g[i]), static_cast<float>(u[i]), gg,
                                    gu);
        dg[i] = static_cast<T>(gg);
        du[i] = static_cast<T>(gu);
      }
    });
  });
}

void rope(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD, const at::Tensor& out,
          int sign) {
  if (x_BTHD.is_cuda()) return launch_rope_cuda(x_BTHD, cos_BTD, sin_BTD, out, sign);
  const int64_t H = x_BTHD.size(2), D = x_BTHD.size(3);
  dispatch_float_type(x_BTHD.scalar_type(), "fused_rope: tensors", [&](auto tag) {
    using T = decltype(tag);
    const T* x = x_BTHD.const_data_ptr<T>();
    const T* cs = cos_BTD.const_data_ptr<T>();
    const T* sn = sin_BTD.const_data_ptr<T>();
    T* o = out.mutable_data_ptr<T>();
    at::parallel_for(0, x_BTHD.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = static_cast<T>(fused_math::rope_at(x, cs, sn, i, H, D, sign));
    });
  });
}

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    const at::Tensor g = gate.contiguous(), u = up.contiguous();
    at::Tensor out = at::empty_like(g);
    swiglu_forward(g, u, out);
    ctx->save_for_backward({g, u});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    at::Tensor grad_gate = at::empty_like(s[0]), grad_up = at::empty_like(s[1]);
    swiglu_backward(grads[0].contiguous(), s[0], s[1], grad_gate, grad_up);
    return {grad_gate, grad_up};
  }
};

struct RopeFunction : torch::autograd::Function<RopeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
    rope(x.contiguous(), cos, sin, out, +1);
    ctx->save_for_backward({cos, sin});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list s = ctx->get_saved_variables();
    at::Tensor grad = grads[0].contiguous();
    at::Tensor grad_x = at::empty_like(grad);
    rope(grad, s[0], s[1], grad_x, -1);
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor fused_swiglu(const at::Tensor& gate, const at::Tensor& up) {
  require_pair(gate, up, "fused_swiglu");
  return SwigluFunction::apply(gate, up);
}

at::Tensor fused_rope(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD) {
  require_pair(cos_BTD, sin_BTD, "fused_rope");
  if (x_BTHD.dim() != 4 || cos_BTD.dim() != 3 || x_BTHD.size(0) != cos_BTD.size(0) ||
      x_BTHD.size(1) != cos_BTD.size(1) || x_BTHD.size(3) != cos_BTD.size(2) || x_BTHD.size(3) % 2 != 0 ||
      x_BTHD.scalar_type() != cos_BTD.scalar_type() || x_BTHD.device() != cos_BTD.device())
    throw Error("fused_rope: expected x [B, T, H, D] and cos/sin [B, T, D] of one dtype and device, D even");
  return RopeFunction::apply(x_BTHD, cos_BTD.contiguous(), sin_BTD.contiguous());
}

}  // namespace symtune

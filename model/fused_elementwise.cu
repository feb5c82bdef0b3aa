#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "common/error.h"
#include "common/float_dispatch.h"
#include "model/fused_elementwise.h"
#include "model/fused_elementwise_kernels.cuh"
#include "model/fused_elementwise_launch.h"

namespace symtune {
namespace {

using namespace elementwise_kernels;

int blocks_for(int64_t n) { return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535 * 8)); }

cudaStream_t stream_of(const at::Tensor& t) { return c10::cuda::getCurrentCUDAStream(t.device().index()).stream(); }

bool nothing_to_do(const at::Tensor& t) { return t.numel() == 0; }

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

}  // namespace

bool fused_elementwise_compiled() { return true; }

void launch_swiglu_forward_cuda(const at::Tensor& gate, const at::Tensor& up, const at::Tensor& out) {
  if (nothing_to_do(gate)) return;
  const c10::cuda::CUDAGuard guard(gate.device());
  const int64_t n = gate.numel();
  dispatch_float_type(gate.scalar_type(), "fused_swiglu: tensors", [&](auto tag) {
    using T = decltype(tag);
    swiglu_forward<T><<<blocks_for(n), kThreads, 0, stream_of(gate)>>>(static_cast<const T*>(gate.data_ptr()),
                                                                       static_cast<const T*>(up.data_ptr()),
                                                                       static_cast<T*>(out.data_ptr()), n);
  });
  check_launch("fused_swiglu forward");
}

void launch_swiglu_backward_cuda(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up,
                                 const at::Tensor& grad_gate, const at::Tensor& grad_up) {
  if (nothing_to_do(gate)) return;
  const c10::cuda::CUDAGuard guard(gate.device());
  const int64_t n = gate.numel();
  dispatch_float_type(gate.scalar_type(), "fused_swiglu: tensors", [&](auto tag) {
    using T = decltype(tag);
    swiglu_backward<T><<<blocks_for(n), kThreads, 0, stream_of(gate)>>>(
        static_cast<const T*>(grad.data_ptr()), static_cast<const T*>(gate.data_ptr()),
        static_cast<const T*>(up.data_ptr()), static_cast<T*>(grad_gate.data_ptr()),
        static_cast<T*>(grad_up.data_ptr()), n);
  });
  check_launch("fused_swiglu backward");
}

void launch_rope_cuda(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD,
                      const at::Tensor& out, int sign) {
  if (nothing_to_do(x_BTHD)) return;
  const c10::cuda::CUDAGuard guard(x_BTHD.device());
  const int64_t n = x_BTHD.numel(), H = x_BTHD.size(2), D = x_BTHD.size(3);
  dispatch_float_type(x_BTHD.scalar_type(), "fused_rope: tensors", [&](auto tag) {
    using T = decltype(tag);
    rope<T><<<blocks_for(n), kThreads, 0, stream_of(x_BTHD)>>>(
        static_cast<const T*>(x_BTHD.data_ptr()), static_cast<const T*>(cos_BTD.data_ptr()),
        static_cast<const T*>(sin_BTD.data_ptr()), static_cast<T*>(out.data_ptr()), n, H, D, sign);
  });
  check_launch("fused_rope");
}

}  // namespace symtune

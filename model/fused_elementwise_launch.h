// Internal to model/fused_elementwise: the per-element formulas that the CPU loops
// (fused_elementwise.cpp) and the CUDA kernels (fused_elementwise.cu) share, so the CPU tests
// check the very arithmetic the GPU runs; and the CUDA kernel launchers (fused_elementwise_stub.cpp
// defines them to throw in builds without nvcc). Contiguous tensors of one dtype; outputs
// preallocated.
#pragma once

#include <ATen/core/Tensor.h>

#include <math.h>

#ifdef __CUDACC__
#define SYMTUNE_HOST_DEVICE __host__ __device__
#else
#define SYMTUNE_HOST_DEVICE
#endif

namespace symtune {
namespace fused_math {

SYMTUNE_HOST_DEVICE inline float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

SYMTUNE_HOST_DEVICE inline float swiglu(float gate, float up) { return gate * sigmoid(gate) * up; }

// Gradients of silu(g) u: d/dg = d u s (1 + g (1 - s)) with s = sigmoid(g); d/du = d g s.
SYMTUNE_HOST_DEVICE inline void swiglu_backward(float d, float g, float u, float& grad_gate, float& grad_up) {
  const float s = sigmoid(g);
  grad_gate = d * u * s * (1.f + g * (1.f - s));
  grad_up = d * g * s;
}

// Element d of the rotate-half rotation of one head vector x (D values, half = D / 2), given
// x[d], its partner x[d +- half], cos[d], and sin at d and at the partner:
//   sign +1: x[d] cos[d] + r[d], r[d] = -x[d + half] sin[d] (d < half), x[d - half] sin[d] (d >= half);
//   sign -1, the transpose (the gradient of the map): x[d] cos[d] + x[d + half] sin[d + half]
//   (d < half), - x[d - half] sin[d - half] (d >= half).
SYMTUNE_HOST_DEVICE inline float rope(float x, float x_partner, float cos_d, float sin_d, float sin_partner, bool low,
                                      int sign) {
  const float rotated =
      sign > 0 ? (low ? -x_partner : x_partner) * sin_d : (low ? x_partner : -x_partner) * sin_partner;
  return x * cos_d + rotated;
}

// Element i of the rotation of x [B, T, H, D] against the tables [B, T, D], all contiguous:
// the index arithmetic that the CPU loop and the CUDA kernel share.
template <typename T>
SYMTUNE_HOST_DEVICE inline float rope_at(const T* x, const T* cos, const T* sin, int64_t i, int64_t H, int64_t D,
                                         int sign) {
  const int64_t half = D / 2, d = i % D;
  const int64_t table = (i / (H * D)) * D;  // row (b, t) of the tables
  const bool low = d < half;
  const int64_t partner = low ? d + half : d - half;
  return rope(static_cast<float>(x[i]), static_cast<float>(x[i - d + partner]), static_cast<float>(cos[table + d]),
              static_cast<float>(sin[table + d]), static_cast<float>(sin[table + partner]), low, sign);
}

}  // namespace fused_math

void launch_swiglu_forward_cuda(const at::Tensor& gate, const at::Tensor& up, const at::Tensor& out);
void launch_swiglu_backward_cuda(const at::Tensor& grad, const at::Tensor& gate, const at::Tensor& up,
                                 const at::Tensor& grad_gate, const at::Tensor& grad_up);
// sign +1: forward rotation; -1: its transpose (the backward pass).
void launch_rope_cuda(const at::Tensor& x_BTHD, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD,
                      const at::Tensor& out, int sign);

}  // namespace symtune

// Internal to model/fused_elementwise: the CUDA kernels of the fused SwiGLU and rotary
// embedding, grid-stride loops over the shared per-element formulas (fused_elementwise_launch.h).
// Compiled by nvcc (model/fused_elementwise.cu launches them) and, in the tests, as host C++
// under tests/unit/cuda_emulation.h, which runs them on CPU threads.
#pragma once

#include <cstdint>

#include "model/fused_elementwise_launch.h"

namespace symtune {
namespace elementwise_kernels {
namespace {  // internal linkage: see optim/adafactor_fused_kernels.cuh

constexpr int kThreads = 256;

template <typename T>
__global__ void swiglu_forward(const T* __restrict__ g, const T* __restrict__ u, T* __restrict__ out, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads)
    out[i] = static_cast<T>(fused_math::swiglu(static_cast<float>(g[i]), static_cast<float>(u[i])));
}

template <typename T>
__global__ void swiglu_backward(const T* __restrict__ dh, const T* __restrict__ g, const T* __restrict__ u,
                                T* __restrict__ dg, T* __restrict__ du, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    float grad_gate, grad_up;
    fused_math::swiglu_backward(static_cast<float>(dh[i]), static_cast<float>(g[i]), static_cast<float>(u[i]),
                                grad_gate, grad_up);
    dg[i] = static_cast<T>(grad_gate);
    du[i] = static_cast<T>(grad_up);
  }
}

// x [B, T, H, D] against tables [B, T, D]; indexing and sign as in fused_math::rope_at.
template <typename T>
__global__ void rope(const T* __restrict__ x, const T* __restrict__ cos, const T* __restrict__ sin, T* __restrict__ out,
                     int64_t n, int64_t H, int64_t D, int sign) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads)
    out[i] = static_cast<T>(fused_math::rope_at(x, cos, sin, i, H, D, sign));
}

}  // namespace
}  // namespace elementwise_kernels
}  // namespace symtune

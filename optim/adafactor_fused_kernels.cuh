// Internal to optim/adafactor_fused: the CUDA kernels of the fused Adafactor update and the
// order in which they are launched, written so that they compile both with nvcc
// (optim/adafactor_fused.cu launches them on a stream) and as host C++ under the test suite's
// emulation of the CUDA execution model (tests/unit/cuda_emulation.h), which runs the very
// same kernels, barriers, warp shuffles and atomics on CPU threads. Four launches per tensor:
// row/column statistics, their finish, the sums of U^2 and X^2, and the update.
#pragma once

#include <algorithm>
#include <cstdint>

#include "optim/adafactor_fused.h"

namespace symtune {
namespace adafactor_kernels {
// Internal linkage: a test binary may hold both the emulated kernels and, in a CUDA build, the
// real ones; template instances of one name must not be merged by the linker.
namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerBlock = 8;  // rows whose statistics one block gathers (and columns' partial sums)

__device__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum of v over the block, returned to every thread; `scratch` holds one float per warp.
__device__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0;
  for (int w = 0; w < kThreads / 32; ++w) total += scratch[w];
  return total;
}

// One block: kRowsPerBlock rows of one [R, C] slice. Each row's mean of g^2 goes into the
// row statistic; each column's partial sum of g^2 over these rows is added to col_sum.
template <typename T>
__global__ void factored_statistics(const T* __restrict__ g, int64_t R, int64_t C, float* __restrict__ row,
                                    float* __restrict__ col_sum, float beta2, float eps1) {
  const int64_t tiles = (R + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t b = blockIdx.x / tiles, r0 = (blockIdx.x % tiles) * kRowsPerBlock;
  const int rows = static_cast<int>(R - r0 < kRowsPerBlock ? R - r0 : kRowsPerBlock);
  const T* tile = g + (b * R + r0) * C;
  float row_part[kRowsPerBlock];
#pragma unroll
  for (int r = 0; r < kRowsPerBlock; ++r) row_part[r] = 0.f;
  for (int64_t j = threadIdx.x; j < C; j += kThreads) {
    float col_part = 0.f;
#pragma unroll
    for (int r = 0; r < kRowsPerBlock; ++r) {
      if (r < rows) {
        const float x = static_cast<float>(tile[r * C + j]);
        row_part[r] += x * x;
        col_part += x * x;
      }
    }
    atomicAdd(&col_sum[b * C + j], col_part);
  }
  __shared__ float scratch[kThreads / 32];
  for (int r = 0; r < rows; ++r) {
    const float total = block_sum(row_part[r], scratch);
    if (threadIdx.x == 0) {
      float& state = row[b * R + r0 + r];
      state = beta2 * state + (1.f - beta2) * (total / static_cast<float>(C) + eps1);
    }
  }
}

// Blocks [0, col_blocks): the column statistics from their sums. Blocks after: the mean of
// each slice's row statistics (the normaliser of the row factor).
__global__ void finish_statistics(int64_t B, int64_t R, int64_t C, const float* __restrict__ row,
                                  float* __restrict__ col, const float* __restrict__ col_sum,
                                  float* __restrict__ row_mean, int col_blocks, float beta2, float eps1) {
  if (blockIdx.x < col_blocks) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (i < B * C) col[i] = beta2 * col[i] + (1.f - beta2) * (col_sum[i] / static_cast<float>(R) + eps1);
    return;
  }
  const int64_t b = blockIdx.x - col_blocks;
  float part = 0.f;
  for (int64_t i = threadIdx.x; i < R; i += kThreads) part += row[b * R + i];
  __shared__ float scratch[kThreads / 32];
  const float total = block_sum(part, scratch);
  if (threadIdx.x == 0) row_mean[b] = total / static_cast<float>(R);
}

// The unclipped update U at flat index i: G / sqrt(R_i C_j / mean(R)), or G / sqrt(V).
struct UpdateSource {
  int64_t R, C;
  const float* row;
  const float* row_mean;
  const float* col;
  const float* v;
  __device__ float operator()(int64_t i, float x) const {
    if (v != nullptr) return rsqrtf(v[i]) * x;
    const int64_t ri = i / C;  // flat row index b * R + r
    return (rsqrtf(row[ri] / row_mean[ri / R]) * rsqrtf(col[(ri / R) * C + i % C])) * x;
  }
};

// sums[0] += sum U^2, sums[1] += sum X^2 (for the parameter scale); unfactored tensors (v_mut
// set, src unused) also update V here, before U is formed from it.
template <typename T>
__global__ void update_sums(const T* __restrict__ g, const T* __restrict__ p, int64_t n, UpdateSource src,
                            float* __restrict__ v_mut, float beta2, float eps1, bool want_param,
                            float* __restrict__ sums) {
  float su = 0.f, sp = 0.f;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const float x = static_cast<float>(g[i]);
    float u;
    if (v_mut != nullptr) {  // unfactored: V first, then U from the new V (read back from a register)
      const float vn = beta2 * v_mut[i] + (1.f - beta2) * (x * x + eps1);
      v_mut[i] = vn;
      u = x * rsqrtf(vn);
    } else {
      u = src(i, x);
    }
    su += u * u;
    if (want_param) {
      const float q = static_cast<float>(p[i]);
      sp += q * q;
    }
  }
  __shared__ float scratch[kThreads / 32];
  su = block_sum(su, scratch);
  sp = block_sum(sp, scratch);
  if (threadIdx.x == 0) {
    atomicAdd(&sums[0], su);
    if (want_param) atomicAdd(&sums[1], sp);
  }
}

struct ApplyScalars {
  float rho, eps2, clip_threshold, beta1, weight_decay;
  bool scale_parameter, has_beta1, weight_decay_scaled_by_lr;
};

// X = X - wd * alpha_or_1 * X - U', with U' = alpha U / max(1, RMS(U) / d), through M with beta1.
template <typename T>
__global__ void apply_update(T* __restrict__ p, const T* __restrict__ g, int64_t n, UpdateSource src,
                             float* __restrict__ m, const float* __restrict__ sums, ApplyScalars s) {
  // RMS as HF forms it: ||x|| / sqrt(numel), each in fp32 (the branch points max(eps2, RMS(X))
  // and max(1, RMS(U) / d) then fall on HF's side as the CPU path's do).
  const float sqrt_n = sqrtf(static_cast<float>(n));
  const float alpha = s.rho * (s.scale_parameter ? fmaxf(s.eps2, sqrtf(sums[1]) / sqrt_n) : 1.f);
  const float clip = fmaxf(1.f, (sqrtf(sums[0]) / sqrt_n) / s.clip_threshold);
  const float decay = -s.weight_decay * (s.weight_decay_scaled_by_lr ? alpha : 1.f);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    float u = src(i, static_cast<float>(g[i])) / clip * alpha;  // HF: divide by the clip, then scale
    if (s.has_beta1) {
      u = s.beta1 * m[i] + (1.f - s.beta1) * u;
      m[i] = u;
    }
    float q = static_cast<float>(p[i]);
    if (s.weight_decay != 0.f) q += q * decay;
    p[i] = static_cast<T>(q - u);
  }
}

// The sizes of one parameter as the kernels see it: factored tensors as B slices of [R, C].
struct KernelShape {
  int64_t n = 0, R = 1, C = 1, B = 1;
  bool factored = false;
  // Column sums [B, C], row means [B], then sum U^2 and sum X^2; all zero before the launches.
  int64_t workspace_floats() const { return (factored ? B * C + B : 0) + 2; }
};

inline KernelShape kernel_shape(const FusedAdafactorTensors& t) {
  KernelShape k;
  k.n = t.param.numel();
  k.factored = t.row.defined();
  if (k.factored && k.n > 0) {
    k.R = t.param.size(-2);
    k.C = t.param.size(-1);
    k.B = k.n / (k.R * k.C);
  }
  return k;
}

// Launches the four kernels through launch(blocks, kernel, args...) (kThreads threads a block).
// `work` holds k.workspace_floats() zeros. The element-wise passes use at most
// max_element_blocks blocks, each striding over the rest.
template <typename T, typename Launch>
void launch_update(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s, const KernelShape& k, float* work,
                   Launch&& launch, int64_t max_element_blocks = 4096) {
  if (k.n == 0) return;
  const T* g = t.grad.data_ptr<T>();
  T* p = t.param.data_ptr<T>();
  float* col_sum = work;
  float* row_mean = work + k.B * k.C;
  float* sums = work + k.workspace_floats() - 2;
  const float beta2 = static_cast<float>(s.beta2), eps1 = static_cast<float>(s.eps1);
  UpdateSource src{k.R, k.C, nullptr, nullptr, nullptr, nullptr};
  float* v = nullptr;
  if (k.factored) {
    float* row = t.row.data_ptr<float>();  // data_ptr<float> checks the state's dtype
    float* col = t.col.data_ptr<float>();
    const int64_t stat_blocks = k.B * ((k.R + kRowsPerBlock - 1) / kRowsPerBlock);
    launch(stat_blocks, factored_statistics<T>, g, k.R, k.C, row, col_sum, beta2, eps1);
    const int col_blocks = static_cast<int>((k.B * k.C + kThreads - 1) / kThreads);
    launch(col_blocks + k.B, finish_statistics, k.B, k.R, k.C, static_cast<const float*>(row), col,
           static_cast<const float*>(col_sum), row_mean, col_blocks, beta2, eps1);
    src = UpdateSource{k.R, k.C, row, row_mean, col, nullptr};
  } else {
    v = t.v.data_ptr<float>();
  }
  const int64_t blocks = std::min<int64_t>((k.n + kThreads - 1) / kThreads, max_element_blocks);
  launch(blocks, update_sums<T>, g, static_cast<const T*>(p), k.n, src, v, beta2, eps1, s.scale_parameter, sums);
  if (!k.factored) src.v = v;  // apply_update forms U from the updated V
  const ApplyScalars a{static_cast<float>(s.rho),
                       static_cast<float>(s.eps2),
                       static_cast<float>(s.clip_threshold),
                       static_cast<float>(s.beta1),
                       static_cast<float>(s.weight_decay),
                       s.scale_parameter,
                       s.has_beta1,
                       s.weight_decay_scaled_by_lr};
  float* m = t.m.defined() ? t.m.data_ptr<float>() : nullptr;
  launch(blocks, apply_update<T>, p, g, k.n, src, m, static_cast<const float*>(sums), a);
}

}  // namespace
}  // namespace adafactor_kernels
}  // namespace symtune

#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "common/error.h"
#include "common/float_dispatch.h"
#include "optim/adafactor_fused.h"

namespace symtune {
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
                                  float* __restrict__ col, const float* __restrict__ col_sum, float* __restrict__ row_mean,
                                  int col_blocks, float beta2, float eps1) {
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
                            float* __restrict__ v_mut, float beta2, float eps1, bool want_param, float* __restrict__ sums) {
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

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("adafactor (fused CUDA): ") + what + ": " + cudaGetErrorString(e));
}

template <typename T>
void run(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s, cudaStream_t stream) {
  const int64_t n = t.param.numel();
  if (n == 0) return;
  const bool factored = t.row.defined();
  const T* g = static_cast<const T*>(t.grad.data_ptr());
  T* p = static_cast<T*>(t.param.data_ptr());
  int64_t R = 1, C = 1, B = 1;
  if (factored) {
    R = t.param.size(-2);
    C = t.param.size(-1);
    B = n / std::max<int64_t>(R * C, 1);
  }
  // Workspace: column sums [B, C], row means [B], then the two sums; zeroed in one memset.
  const int64_t work_floats = (factored ? B * C + B : 0) + 2;
  // From PyTorch's caching allocator, on the current stream: no device-wide allocation.
  const at::Tensor workspace = at::empty({work_floats}, t.param.options().dtype(at::kFloat));
  float* work = workspace.data_ptr<float>();
  check(cudaMemsetAsync(work, 0, work_floats * sizeof(float), stream), "memset");
  float* col_sum = work;
  float* row_mean = work + B * C;
  float* sums = work + work_floats - 2;
  const float beta2 = static_cast<float>(s.beta2), eps1 = static_cast<float>(s.eps1);
  UpdateSource src{R, C, nullptr, nullptr, nullptr, nullptr};
  float* v = nullptr;
  if (factored) {
    float* row = t.row.data_ptr<float>();
    float* col = t.col.data_ptr<float>();
    const int64_t stat_blocks = B * ((R + kRowsPerBlock - 1) / kRowsPerBlock);
    factored_statistics<T><<<stat_blocks, kThreads, 0, stream>>>(g, R, C, row, col_sum, beta2, eps1);
    const int col_blocks = static_cast<int>((B * C + kThreads - 1) / kThreads);
    finish_statistics<<<col_blocks + B, kThreads, 0, stream>>>(B, R, C, row, col, col_sum, row_mean, col_blocks, beta2,
                                                              eps1);
    src = UpdateSource{R, C, row, row_mean, col, nullptr};
  } else {
    v = t.v.data_ptr<float>();
  }
  const int blocks = static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 4096));
  update_sums<T><<<blocks, kThreads, 0, stream>>>(g, p, n, src, v, beta2, eps1, s.scale_parameter, sums);
  if (!factored) src.v = v;  // apply_update forms U from the updated V
  const ApplyScalars a{static_cast<float>(s.rho), static_cast<float>(s.eps2), static_cast<float>(s.clip_threshold),
                       static_cast<float>(s.beta1), static_cast<float>(s.weight_decay), s.scale_parameter,
                       s.has_beta1, s.weight_decay_scaled_by_lr};
  apply_update<T><<<blocks, kThreads, 0, stream>>>(p, g, n, src, t.m.defined() ? t.m.data_ptr<float>() : nullptr, sums, a);
  check(cudaGetLastError(), "kernel launch");
}

}  // namespace

bool fused_adafactor_compiled() { return true; }

void fused_adafactor_update_cuda(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s) {
  if (!t.param.is_cuda() || !t.param.is_contiguous() || !t.grad.is_contiguous() ||
      t.grad.scalar_type() != t.param.scalar_type())
    throw Error("adafactor (fused CUDA): parameter and gradient must be contiguous CUDA tensors of one dtype");
  const c10::cuda::CUDAGuard guard(t.param.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream(t.param.device().index()).stream();
  dispatch_float_type(t.param.scalar_type(), "adafactor (fused CUDA): parameters",
                      [&](auto tag) { run<decltype(tag)>(t, s, stream); });
  // Written through a raw pointer: tell autograd the tensor changed, as copy_ would.
  t.param.unsafeGetTensorImpl()->bump_version();
}

}  // namespace symtune

// The fused Adafactor update on the CPU: the same three passes as the CUDA kernels
// (optim/adafactor_fused.cu) with fp32 arithmetic and double sums, so the tests can hold the
// algorithm to HF's Adafactor here. Scalar loops: on the CPU the default one-by-one path, built
// from LibTorch's vectorised ops, is faster (124M shape: 296 against 406 ms a step).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <mutex>
#include <vector>

#include "common/error.h"
#include "common/float_dispatch.h"
#include "optim/adafactor_fused.h"

namespace symtune {
namespace {

// The three passes over one tensor, sharing its pointers and shape. Elements are visited row by
// row ([B R] rows of C; an unfactored tensor is one row of n), without divisions.
template <typename T>
struct FusedPasses {
  const FusedAdafactorTensors& t;
  const FusedAdafactorScalars& s;
  int64_t n = t.param.numel(), R = 1, C = 1, B = 1;
  bool factored = t.row.defined();
  T* p = t.param.mutable_data_ptr<T>();
  const T* g = t.grad.const_data_ptr<T>();
  float beta2 = static_cast<float>(s.beta2), eps1 = static_cast<float>(s.eps1);
  std::vector<float> row_factor, col_factor;  // rsqrt(R_r / mean(R)) and rsqrt(C_c)

  // Pass 1: the second-moment statistics, and for a factored tensor the row and column factors.
  void update_statistics() {
    if (!factored) {
      C = n;
      float* v = t.v.mutable_data_ptr<float>();
      at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const float x = static_cast<float>(g[i]);
          v[i] = beta2 * v[i] + (1.f - beta2) * (x * x + eps1);
        }
      });
      return;
    }
    R = t.param.size(-2);
    C = t.param.size(-1);
    B = n / (R * C);
    const std::vector<double> col_sum = row_statistics_and_column_sums();
    float* row = t.row.mutable_data_ptr<float>();
    float* col = t.col.mutable_data_ptr<float>();
    row_factor.resize(static_cast<size_t>(B * R));
    col_factor.resize(static_cast<size_t>(B * C));
    for (int64_t b = 0; b < B; ++b) {
      double sum = 0;
      for (int64_t r = 0; r < R; ++r) sum += row[b * R + r];
      const float row_mean = static_cast<float>(sum / R);
      for (int64_t r = 0; r < R; ++r) row_factor[b * R + r] = 1.f / std::sqrt(row[b * R + r] / row_mean);
      for (int64_t c = 0; c < C; ++c) {
        float& state = col[b * C + c];
        state = beta2 * state + (1.f - beta2) * (static_cast<float>(col_sum[b * C + c] / R) + eps1);
        col_factor[b * C + c] = 1.f / std::sqrt(state);
      }
    }
  }

  // Row means of G^2 into the row statistics; column sums of G^2 gathered per chunk of rows.
  std::vector<double> row_statistics_and_column_sums() {
    float* row = t.row.mutable_data_ptr<float>();
    std::vector<double> col_sum(static_cast<size_t>(B * C), 0.0);
    std::mutex merge;
    for (int64_t b = 0; b < B; ++b) {
      at::parallel_for(0, R, 16, [&](int64_t r0, int64_t r1) {
        std::vector<double> part(static_cast<size_t>(C), 0.0);
        for (int64_t r = r0; r < r1; ++r) {
          const T* gr = g + (b * R + r) * C;
          double sum = 0;
          for (int64_t c = 0; c < C; ++c) {
            const float x = static_cast<float>(gr[c]);
            sum += x * x;
            part[c] += x * x;
          }
          float& state = row[b * R + r];
          state = beta2 * state + (1.f - beta2) * (static_cast<float>(sum / C) + eps1);
        }
        std::lock_guard<std::mutex> lock(merge);
        for (int64_t c = 0; c < C; ++c) col_sum[b * C + c] += part[c];
      });
    }
    return col_sum;
  }

  // fn(i, u) for every element of rows [r0, r1), U formed from the current statistics in HF's
  // order of operations, so the rounding follows it.
  template <typename Fn>
  void for_rows(int64_t r0, int64_t r1, Fn&& fn) const {
    const float* v = factored ? nullptr : t.v.const_data_ptr<float>();
    for (int64_t ri = r0; ri < r1; ++ri) {
      const float rf = factored ? row_factor[ri] : 1.f;
      const float* cf = factored ? col_factor.data() + (ri / R) * C : nullptr;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = ri * C + c;
        const float x = static_cast<float>(g[i]);
        fn(i, factored ? (rf * cf[c]) * x : (1.f / std::sqrt(v[i])) * x);
      }
    }
  }
  int64_t grain() const { return std::max<int64_t>(1, 4096 / C); }

  // Pass 2: the sums of U^2 and X^2, in double.
  std::pair<double, double> squared_sums() const {
    using Sums = std::pair<double, double>;
    return at::parallel_reduce(
        0, n / C, grain(), Sums{0.0, 0.0},
        [&](int64_t r0, int64_t r1, Sums acc) {
          for_rows(r0, r1, [&](int64_t i, float u) {
            acc.first += static_cast<double>(u) * u;
            const float q = static_cast<float>(p[i]);
            acc.second += static_cast<double>(q) * q;
          });
          return acc;
        },
        [](Sums a, Sums b) {
          return Sums{a.first + b.first, a.second + b.second};
        });
  }

  // Pass 3: clip, scale, first moment, weight decay, rounded write.
  // RMS as HF forms it in fp32: ||x|| / sqrt(numel), each rounded to float. The parameter scale
  // max(eps2, RMS(X)) and the clip max(1, RMS(U) / d) are branch points: computing them the
  // same way keeps a trajectory on HF's side of them.
  void apply(std::pair<double, double> sums) {
    const float sqrt_n = static_cast<float>(std::sqrt(static_cast<double>(n)));
    const float rms_u = static_cast<float>(std::sqrt(sums.first)) / sqrt_n;
    const float rms_p = static_cast<float>(std::sqrt(sums.second)) / sqrt_n;
    const float alpha =
        static_cast<float>(s.rho) * (s.scale_parameter ? std::max(static_cast<float>(s.eps2), rms_p) : 1.f);
    const float clip = std::max(1.f, rms_u / static_cast<float>(s.clip_threshold));
    const float decay = static_cast<float>(-s.weight_decay) * (s.weight_decay_scaled_by_lr ? alpha : 1.f);
    const float beta1 = static_cast<float>(s.beta1);
    float* m = s.has_beta1 ? t.m.mutable_data_ptr<float>() : nullptr;
    at::parallel_for(0, n / C, grain(), [&](int64_t r0, int64_t r1) {
      for_rows(r0, r1, [&](int64_t i, float u) {
        u = u / clip * alpha;
        if (m != nullptr) {
          u = beta1 * m[i] + (1.f - beta1) * u;
          m[i] = u;
        }
        float q = static_cast<float>(p[i]);
        if (s.weight_decay != 0.0) q += q * decay;
        p[i] = static_cast<T>(q - u);
      });
    });
  }
};

template <typename T>
void run(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s) {
  if (t.param.numel() == 0) return;
  FusedPasses<T> passes{t, s};
  passes.update_statistics();
  passes.apply(passes.squared_sums());
}

}  // namespace

void fused_adafactor_update_cpu(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s) {
  if (!t.param.is_cpu() || !t.param.is_contiguous() || !t.grad.is_contiguous() ||
      t.grad.scalar_type() != t.param.scalar_type())
    throw Error("adafactor (fused): parameter and gradient must be contiguous tensors of one dtype");
  dispatch_float_type(t.param.scalar_type(), "adafactor (fused): parameters",
                      [&](auto tag) { run<decltype(tag)>(t, s); });
  t.param.unsafeGetTensorImpl()->bump_version();
}

}  // namespace symtune

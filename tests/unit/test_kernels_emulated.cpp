// symtune's CUDA kernels run on the host through tests/unit/cuda_emulation.h: what a GPU-less
// machine can check of them (indexing, tiling, reductions, the order of barriers, the
// workspace). The fused Adafactor's kernels against the CPU passes (fused_adafactor_update_cpu,
// held to HF's Adafactor by test_adafactor_parity) for several steps: shapes that leave partial
// row tiles, slices of a 3D tensor, a vector, bf16 parameters, the first moment and weight
// decay, and update passes with fewer blocks than elements (the grid-stride loops). The fused
// SwiGLU and rotary kernels against the CPU loops and their autograd gradients.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/fused_elementwise.h"
#include "optim/adafactor_fused.h"
#include "test_support.h"

// After every other header: it defines CUDA's keywords.
#include "cuda_emulation.h"
#include "model/fused_elementwise_kernels.cuh"
#include "optim/adafactor_fused_kernels.cuh"

namespace symtune {
namespace {

struct EmulationCase {
  std::string name;
  std::vector<int64_t> shape;
  at::ScalarType dtype;
  bool factored, beta1, scale_parameter;
  double weight_decay;
  int64_t max_element_blocks;
};

void PrintTo(const EmulationCase& c, std::ostream* os) { *os << c.name; }

FusedAdafactorTensors fresh_state(const std::vector<int64_t>& shape, at::ScalarType dtype, bool factored, bool beta1) {
  const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat);
  FusedAdafactorTensors t;
  t.param = at::randn(shape, f32).to(dtype);
  if (factored) {
    std::vector<int64_t> row(shape.begin(), shape.end() - 1), col(shape.begin(), shape.end());
    col.erase(col.end() - 2);
    t.row = at::zeros(row, f32);
    t.col = at::zeros(col, f32);
  } else {
    t.v = at::zeros(shape, f32);
  }
  if (beta1) t.m = at::zeros(shape, f32);
  return t;
}

FusedAdafactorTensors clone(const FusedAdafactorTensors& t) {
  auto copy = [](const at::Tensor& x) { return x.defined() ? x.clone() : at::Tensor(); };
  return {copy(t.param), copy(t.grad), copy(t.row), copy(t.col), copy(t.v), copy(t.m)};
}

void run_emulated(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s, int64_t max_element_blocks) {
  using namespace adafactor_kernels;
  const KernelShape k = kernel_shape(t);
  std::vector<float> work(static_cast<size_t>(k.workspace_floats()), 0.f);
  auto launch = [](int64_t blocks, auto kernel, auto... args) {
    cuda_emulation::launch(blocks, kThreads, kernel, args...);
  };
  if (t.param.scalar_type() == at::kBFloat16)
    launch_update<c10::BFloat16>(t, s, k, work.data(), launch, max_element_blocks);
  else if (t.param.scalar_type() == at::kHalf)
    launch_update<c10::Half>(t, s, k, work.data(), launch, max_element_blocks);
  else launch_update<float>(t, s, k, work.data(), launch, max_element_blocks);
}

void expect_close(const at::Tensor& emulated, const at::Tensor& cpu, double rtol, const std::string& what) {
  if (!cpu.defined()) return;
  const at::Tensor a = emulated.to(at::kFloat), b = cpu.to(at::kFloat);
  const double scale = b.abs().max().item<double>();
  const double diff = test::max_abs_diff(a, b);
  EXPECT_LE(diff, rtol * scale + 1e-30) << what << ": emulated kernels and CPU passes differ by " << diff
                                        << " (largest value " << scale << ")";
}

// Parameters stored in bf16/fp16: both sides compute in fp32 and round once, so they may differ
// only where the fp32 values straddle a rounding boundary: by one unit in the last place of the
// stored dtype, for a small share of the elements.
void expect_within_one_ulp(const at::Tensor& emulated, const at::Tensor& cpu, const std::string& what) {
  const int mantissa_bits = cpu.scalar_type() == at::kBFloat16 ? 7 : 10;
  const at::Tensor a = emulated.to(at::kDouble), b = cpu.to(at::kDouble);
  const at::Tensor magnitude = at::maximum(a.abs(), b.abs()).clamp_min(1e-30);
  const at::Tensor ulp = at::pow(2.0, at::floor(at::log2(magnitude)) - mantissa_bits);
  const at::Tensor diff = (a - b).abs();
  const int64_t beyond_one_ulp = (diff > ulp).sum().item<int64_t>();
  const double share_differing = (diff > 0).to(at::kDouble).mean().item<double>();
  EXPECT_EQ(beyond_one_ulp, 0) << what << ": elements more than one ulp apart";
  EXPECT_LE(share_differing, 0.01) << what << ": share of elements rounded differently";
}

class FusedAdafactorKernelsEmulated : public ::testing::TestWithParam<EmulationCase> {};

TEST_P(FusedAdafactorKernelsEmulated, MatchTheCpuPasses) {
  const EmulationCase& c = GetParam();
  at::manual_seed(7);
  FusedAdafactorTensors kernels = fresh_state(c.shape, c.dtype, c.factored, c.beta1);
  FusedAdafactorTensors cpu = clone(kernels);
  const at::Tensor initial = kernels.param.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  const double state_rtol = 2e-6;  // fp32 sums in another order: a few fp32 ulps
  for (int step = 1; step <= 3; ++step) {
    const at::Tensor grad = (at::randn(c.shape) * (0.1 * step)).to(c.dtype);
    kernels.grad = grad;
    cpu.grad = grad;
    FusedAdafactorScalars s;
    s.rho = std::min(1e-2, 1.0 / std::sqrt(step));
    s.beta2 = 1.0 - std::pow(step, -0.8);
    s.eps1 = 1e-30;
    s.eps2 = 1e-3;
    s.clip_threshold = 1.0;
    s.scale_parameter = c.scale_parameter;
    s.has_beta1 = c.beta1;
    s.beta1 = 0.9;
    s.weight_decay = c.weight_decay;
    run_emulated(kernels, s, c.max_element_blocks);
    fused_adafactor_update_cpu(cpu, s);
    const std::string at_step = c.name + ", step " + std::to_string(step);
    if (c.dtype == at::kFloat) expect_close(kernels.param, cpu.param, state_rtol, at_step + ": parameter");
    else expect_within_one_ulp(kernels.param, cpu.param, at_step + ": parameter");
    expect_close(kernels.row, cpu.row, state_rtol, at_step + ": row statistics");
    expect_close(kernels.col, cpu.col, state_rtol, at_step + ": column statistics");
    expect_close(kernels.v, cpu.v, state_rtol, at_step + ": second moment");
    expect_close(kernels.m, cpu.m, state_rtol, at_step + ": first moment");
  }
  // Both sides moved the parameters (agreeing on doing nothing would pass the checks above).
  EXPECT_GT(test::max_abs_diff(kernels.param.to(at::kFloat), initial), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedAdafactorKernelsEmulated,
                         ::testing::Values(
                             // 20 rows: two full tiles of 8 rows and a partial one; 300 columns: threads take two each.
                             EmulationCase{"Matrix", {20, 300}, at::kFloat, true, false, true, 0.0, 4096},
                             // Two [9, 130] slices: per-slice row means and column statistics.
                             EmulationCase{"ThreeD", {2, 9, 130}, at::kFloat, true, true, true, 0.01, 4096},
                             // The update passes on 2 blocks for 6000 elements: each thread strides over several.
                             EmulationCase{"MatrixStrided", {20, 300}, at::kFloat, true, true, false, 0.0, 2},
                             EmulationCase{"Vector", {700}, at::kFloat, false, true, true, 0.01, 4096},
                             EmulationCase{"MatrixBf16", {20, 300}, at::kBFloat16, true, true, true, 0.0, 4096},
                             EmulationCase{"VectorFp16", {700}, at::kHalf, false, false, true, 0.01, 4096}),
                         [](const ::testing::TestParamInfo<EmulationCase>& info) { return info.param.name; });

// Three blocks for hundreds of elements: every thread strides over several.
constexpr int64_t kElementwiseBlocks = 3;

TEST(ElementwiseKernelsEmulated, SwigluMatchesTheCpuLoopsAndGradients) {
  at::manual_seed(3);
  const at::Tensor gate = at::randn({5, 7, 40}).requires_grad_(), up = at::randn({5, 7, 40}).requires_grad_();
  const at::Tensor grad = at::randn({5, 7, 40});
  const at::Tensor cpu = fused_swiglu(gate, up);
  cpu.backward(grad);
  const int64_t n = gate.numel();
  const at::Tensor g = gate.detach(), u = up.detach();
  at::Tensor out = at::empty_like(g), grad_gate = at::empty_like(g), grad_up = at::empty_like(g);
  using namespace elementwise_kernels;
  cuda_emulation::launch(kElementwiseBlocks, kThreads, swiglu_forward<float>, g.const_data_ptr<float>(),
                         u.const_data_ptr<float>(), out.mutable_data_ptr<float>(), n);
  cuda_emulation::launch(kElementwiseBlocks, kThreads, swiglu_backward<float>, grad.const_data_ptr<float>(),
                         g.const_data_ptr<float>(), u.const_data_ptr<float>(), grad_gate.mutable_data_ptr<float>(),
                         grad_up.mutable_data_ptr<float>(), n);
  expect_close(out, cpu.detach(), 1e-6, "swiglu forward");
  expect_close(grad_gate, gate.grad(), 1e-6, "swiglu gradient of the gate");
  expect_close(grad_up, up.grad(), 1e-6, "swiglu gradient of up");
}

TEST(ElementwiseKernelsEmulated, RopeMatchesTheCpuLoopAndItsGradient) {
  at::manual_seed(4);
  const int64_t B = 2, T = 5, H = 3, D = 16;
  const at::Tensor x = at::randn({B, T, H, D}).requires_grad_();
  const at::Tensor angles = at::rand({B, T, D}) * 6.0;  // any tables: the kernel only indexes them
  const at::Tensor cos = angles.cos(), sin = angles.sin();
  const at::Tensor grad = at::randn({B, T, H, D});
  const at::Tensor cpu = fused_rope(x, cos, sin);
  cpu.backward(grad);
  at::Tensor forward = at::empty_like(grad), backward = at::empty_like(grad);
  using namespace elementwise_kernels;
  const at::Tensor xd = x.detach();
  cuda_emulation::launch(kElementwiseBlocks, kThreads, rope<float>, xd.const_data_ptr<float>(),
                         cos.const_data_ptr<float>(), sin.const_data_ptr<float>(), forward.mutable_data_ptr<float>(),
                         xd.numel(), H, D, +1);
  cuda_emulation::launch(kElementwiseBlocks, kThreads, rope<float>, grad.const_data_ptr<float>(),
                         cos.const_data_ptr<float>(), sin.const_data_ptr<float>(), backward.mutable_data_ptr<float>(),
                         grad.numel(), H, D, -1);
  expect_close(forward, cpu.detach(), 1e-6, "rope forward");
  expect_close(backward, x.grad(), 1e-6, "rope gradient");
}

}  // namespace
}  // namespace symtune

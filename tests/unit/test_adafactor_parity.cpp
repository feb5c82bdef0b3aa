// Adafactor against HF transformers' Adafactor: 100 steps in every mode, on the CPU (one
// tensor at a time and stacked) and on CUDA (stacked), from fixtures written by
// tests/python/make_adafactor_fixtures.py.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "optim/adafactor.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// Relative error: max |ours - HF| / max |HF| per tensor. fp32 rounding differences (batched
// reductions against per-tensor ones, double sums in the fused passes) measured at most 1.1e-6
// over 100 steps (CpuFused); the bound leaves a factor of 9 for other CPUs' vector units.
constexpr double kRelativeTolerance = 1e-5;

fs::path adafactor_fixtures() {
  const char* env = std::getenv("SYMTUNE_ADAFACTOR_FIXTURES");
  return env ? fs::path(env) : fs::path();
}

double relative_error(const at::Tensor& ours, const at::Tensor& reference) {
  return test::max_abs_diff(ours, reference) / reference.abs().max().item<double>();
}

struct ParityPath {
  const char* name;
  const char* device;
  AdafactorOptions::Batching batching;
};

// Test names and failure messages show the path's name, not the struct's bytes.
void PrintTo(const ParityPath& p, std::ostream* os) { *os << p.name; }

class AdafactorParity : public ::testing::TestWithParam<ParityPath> {};

TEST_P(AdafactorParity, MatchesTransformersForHundredStepsInEveryMode) {
  const fs::path dir = adafactor_fixtures();
  SYMTUNE_REQUIRE(!dir.empty() && fs::exists(dir / "cases.json"),
                  "Adafactor fixtures (run via ctest: make_adafactor_fixtures.py writes them)");
  const c10::Device device(GetParam().device);
  if (device.is_cuda() && !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  std::ifstream in(dir / "cases.json");
  const json cases = json::parse(in);
  auto init = SafetensorsFile::open(dir / "init.safetensors");
  const std::vector<std::string> shapes{"vector",     "vector_b",  "small_2d", "large_2d",
                                        "large_2d_b", "tensor_3d", "tensor_4d"};
  int checked = 0;
  for (auto it = cases.begin(); it != cases.end(); ++it) {
    const std::string case_name = it.key();
    AdafactorOptions options = parse_adafactor_options(it.value()["options"], case_name);
    options.batching = GetParam().batching;
    const auto scales = it.value()["scales"].get<std::vector<float>>();
    std::vector<NamedParameter> params;
    std::vector<at::Tensor> targets;
    for (const auto& s : shapes) {
      params.push_back({s, init.load("p0." + s).to(device).requires_grad_(true)});
      targets.push_back(init.load("target." + s).to(device));
    }
    Adafactor opt(params, options);
    auto reference = SafetensorsFile::open(dir / (case_name + ".safetensors"));
    for (size_t t = 0; t < scales.size(); ++t) {
      for (size_t i = 0; i < params.size(); ++i)
        params[i].tensor.mutable_grad() = (params[i].tensor.detach() - targets[i]) * scales[t];
      opt.step();
      if (t == 0 || t + 1 == scales.size()) {
        const std::string prefix = t == 0 ? "step1." : "final.";
        for (size_t i = 0; i < params.size(); ++i) {
          const double err = relative_error(params[i].tensor.detach(), reference.load(prefix + shapes[i]));
          EXPECT_LE(err, kRelativeTolerance) << case_name << " " << prefix << shapes[i];
          if (t > 0)
            std::printf("%s %-50s %-10s rel err after %zu steps %.2e\n", GetParam().name, case_name.c_str(),
                        shapes[i].c_str(), scales.size(), err);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 16 * 7 * 2);
}

// One tensor at a time, same-shape tensors stacked, or the fused passes (loops on the CPU,
// kernels on CUDA): all against HF.
INSTANTIATE_TEST_SUITE_P(Paths, AdafactorParity,
                         ::testing::Values(ParityPath{"CpuOneByOne", "cpu", AdafactorOptions::Batching::kOneByOne},
                                           ParityPath{"CpuStacked", "cpu", AdafactorOptions::Batching::kStacked},
                                           ParityPath{"CpuFused", "cpu", AdafactorOptions::Batching::kFused},
                                           ParityPath{"CudaStacked", "cuda", AdafactorOptions::Batching::kAuto},
                                           ParityPath{"CudaFused", "cuda", AdafactorOptions::Batching::kFused}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace symtune

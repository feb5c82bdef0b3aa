// One Adafactor step on the parameters of a Llama shape (default: TinyLlama 1.1B), random
// weights and gradients. Prints one JSON line: ms per step, optimizer state bytes and the
// bytes AdamW would hold (2 fp32 moments per parameter). bench/adafactor_bench.sh runs
// HF transformers' Adafactor on the same shapes in the same run and prints the ratio.
//
//   bench_adafactor_step [--shape 1.1b|124m] [--device cpu|cuda] [--steps N] [--warmup N] [--beta1]
//                        [--implementation auto|stacked|one_by_one|fused]
#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench_shapes.h"
#include "model/model_config.h"
#include "model/transformer.h"
#include "optim/adafactor.h"

using namespace symtune;

int main(int argc, char** argv) {
  std::string shape = "1.1b", device_name = "cpu";
  int64_t steps = 3, warmup = 1;
  bool beta1 = false;
  std::string implementation = "auto";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--shape") shape = next();
    else if (a == "--device") device_name = next();
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--warmup") warmup = std::stoll(next());
    else if (a == "--beta1") beta1 = true;
    else if (a == "--implementation") implementation = next();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  ModelConfig config = bench::shape_config(shape);
  const c10::Device device(device_name);
  at::manual_seed(0);
  std::vector<NamedParameter> params;
  int64_t numel = 0;
  for (const auto& spec : expected_tensors(config)) {
    at::Tensor p = (at::randn(spec.shape, at::TensorOptions().device(device)) * 0.02).requires_grad_(true);
    p.mutable_grad() = at::randn(spec.shape, at::TensorOptions().device(device)) * 1e-3;
    numel += p.numel();
    params.push_back({spec.name, p});
  }
  // HF defaults: relative step, parameter scale, factored rank >= 2
  AdafactorOptions options =
      parse_adafactor_options(nlohmann::json{{"implementation", implementation}}, "bench_adafactor_step");
  if (beta1) options.beta1 = 0.9;
  Adafactor opt(params, options);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  for (int64_t i = 0; i < warmup; ++i) opt.step();
  sync();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) opt.step();
  sync();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
  const int64_t adamw_bytes = 2 * numel * 4;
  std::printf(
      "{\"bench\":\"adafactor_step\",\"impl\":\"symtune %s\",\"shape\":\"%s\",\"device\":\"%s\",\"params\":%lld,"
      "\"tensors\":%zu,\"step_ms\":%.1f,\"state_bytes\":%lld,\"adamw_state_bytes\":%lld,\"state_vs_adamw\":%.5f}\n",
      implementation.c_str(), shape.c_str(), device_name.c_str(), (long long)numel, params.size(), ms,
      (long long)opt.state_bytes(), (long long)adamw_bytes, double(opt.state_bytes()) / adamw_bytes);
  return 0;
}

// Forward + backward throughput of the symtune transformer on the paper's batches (2048 input
// + 512 target tokens, loss on the targets only), random weights, one device. Prints one JSON
// line: tokens/s, achieved TFLOP/s and peak memory. No optimizer step (see the trainer bench).
//
//   bench_forward_backward [--shape 124m|1.1b|tiny] [--batch N] [--steps N] [--warmup N]
//                          [--device cuda|cpu] [--dtype bfloat16|float32] [--checkpointing]
//
// FLOPs per token use the PaLM accounting (Chowdhery et al. 2022, appendix B), as
// shared/bench/anchor_hf.py does: 6 * matmul parameters + 12 * layers * seq * hidden.
#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_shapes.h"
#include "common/device_memory.h"
#include "model/transformer.h"

using namespace symtune;

namespace {

void sync(const c10::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape = "124m", device_name = torch::cuda::is_available() ? "cuda" : "cpu", dtype_name = "bfloat16";
  int64_t batch = -1, steps = 8, warmup = 3, input_len = 2048, target_len = 512;
  bool checkpointing = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--shape") shape = next();
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--warmup") warmup = std::stoll(next());
    else if (a == "--device") device_name = next();
    else if (a == "--dtype") dtype_name = next();
    else if (a == "--input-len") input_len = std::stoll(next());
    else if (a == "--target-len") target_len = std::stoll(next());
    else if (a == "--checkpointing") checkpointing = true;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (batch < 0) batch = shape == "1.1b" ? 8 : 16;
  const c10::Device device(device_name);
  const at::ScalarType dtype = dtype_name == "float32" ? at::kFloat : at::kBFloat16;
  ModelConfig config = bench::shape_config(shape);
  Transformer model(config, Transformer::random_weights(config, 0, at::kFloat));
  model.to(device, dtype);
  model.for_each_parameter([](const std::string&, at::Tensor& t) { t.requires_grad_(true); });
  model.set_activation_checkpointing(checkpointing);
  const int64_t seq = input_len + target_len;
  at::Tensor ids = at::randint(0, config.vocab_size, {batch, seq}, at::TensorOptions().dtype(at::kLong).device(device));

  auto step = [&] {
    at::Tensor hidden = model.hidden_states(ids);
    // Only the target positions need logits: position t predicts token t + 1.
    at::Tensor logits = model.logits(hidden.narrow(1, input_len - 1, target_len));
    at::Tensor labels = ids.narrow(1, input_len, target_len);
    at::Tensor loss =
        at::cross_entropy_loss(logits.reshape({-1, config.vocab_size}).to(at::kFloat), labels.reshape({-1}));
    loss.backward();
    for (auto& p : model.parameters()) p.mutable_grad().reset();
    return loss;
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  sync(device);
  reset_peak_device_memory(device);
  auto t0 = std::chrono::steady_clock::now();
  double last_loss = 0;
  for (int64_t i = 0; i < steps; ++i) last_loss = step().item<double>();
  sync(device);
  const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;

  const int64_t h = config.hidden_size, kv = config.num_kv_heads * config.head_dim;
  const int64_t matmul_params =
      config.num_layers * (2 * h * h + 2 * h * kv + 3 * h * config.intermediate_size) + h * config.vocab_size;
  const double flops_per_token = 6.0 * matmul_params + 12.0 * config.num_layers * seq * h;
  const double tokens_per_s = batch * seq / step_s;
  const double peak_gib = peak_device_memory_gib(device);
  std::printf(
      "{\"bench\":\"forward_backward\",\"shape\":\"%s\",\"device\":\"%s\",\"dtype\":\"%s\",\"batch\":%lld,\"seq\":%lld,"
      "\"checkpointing\":%s,\"step_s\":%.4f,\"tokens_per_s\":%.0f,\"tflops\":%.1f,\"peak_gib\":%.1f,\"loss\":%.4f}\n",
      shape.c_str(), device_name.c_str(), dtype_name.c_str(), (long long)batch, (long long)seq,
      checkpointing ? "true" : "false", step_s, tokens_per_s, tokens_per_s * flops_per_token / 1e12, peak_gib,
      last_loss);
  return 0;
}

#include "eval/evaluate_model.h"

#include <algorithm>
#include <cstdio>

#include "common/device_memory.h"
#include "common/error.h"
#include "data/tokenizer.h"
#include "model/hf_checkpoint.h"

namespace symtune {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

// Before the weights are read: the weights and one scoring forward, whose cached tokens are
// --batch-tokens, or a single query of 16 candidates behind a prompt of max_input_tokens when that
// is more (a query over the budget is scored alone): each token's keys and values in every
// layer and a layer's activations, and fp32 logits with their double log-softmax at the scored
// positions (the prompts' last ones and the candidates' tokens, at most 64 each).
void require_evaluation_fits(const ModelConfig& mc, const EvalOptions& o, c10::Device device, c10::ScalarType dtype) {
  constexpr int64_t kCandidates = 16, kCandidateTokens = 64;
  const int64_t tokens = std::max(o.scoring_batch_tokens, (kCandidates + 1) * (o.max_input_tokens + kCandidateTokens));
  const int64_t element = c10::elementSize(dtype);
  const double per_token = element * (2.0 * mc.num_layers * mc.num_kv_heads * mc.head_dim + 6.0 * mc.hidden_size +
                                      3.0 * mc.intermediate_size);
  const double logits = static_cast<double>(kCandidates * kCandidateTokens) * 12.0 * mc.vocab_size;
  const double needed = static_cast<double>(mc.num_parameters() * element) + tokens * per_token + logits;
  const auto memory = device.is_cuda() ? device_memory(device) : host_memory();
  if (!memory || needed <= 0.9 * static_cast<double>(memory->free_bytes)) return;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "about %.2f GiB, %s has %.2f GiB available", needed / double(1ull << 30),
                device.is_cuda() ? device.str().c_str() : "this machine",
                static_cast<double>(memory->free_bytes) / double(1ull << 30));
  throw Error(std::string("eval: the model and one scoring forward need ") + buf +
              "; lower --batch-tokens or --max-input-tokens, or use --dtype bfloat16");
}

}  // namespace

nlohmann::json evaluate_model(const std::string& model_dir, const std::vector<std::string>& suites,
                              const EvalOptions& options, c10::Device device, c10::ScalarType dtype) {
  const auto& known = eval_suite_names();
  for (const auto& s : suites)
    if (std::find(known.begin(), known.end(), s) == known.end())
      throw Error("--suite: unknown suite '" + s + "' (icl, flipped, list_functions, turing_concepts)");
  require_evaluation_fits(load_model_config(std::filesystem::path(model_dir) / "config.json"), options, device, dtype);
  auto model = load_pretrained(model_dir, {dtype, device, false});
  const ModelConfig& c = model->config();
  auto tokenizer = load_tokenizer(model_dir, {c.bos_token_id, c.first_eos_token_id(), c.pad_token_id}, c.vocab_size);
  nlohmann::json report = {{"model", model_dir},
                           {"seed", options.seed},
                           {"examples_per_task", options.examples_per_task},
                           {"exemplars_per_class", options.exemplars_per_class},
                           {"suites", nlohmann::json::object()}};
  for (const auto& s : suites) {
    std::fprintf(stderr, "evaluating %s on %s...\n", model_dir.c_str(), s.c_str());
    report["suites"][s] = run_eval_suite(s, *model, *tokenizer, options);
  }
  return report;
}

}  // namespace symtune

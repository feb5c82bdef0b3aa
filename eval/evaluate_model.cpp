#include "eval/evaluate_model.h"

#include <algorithm>
#include <cstdio>

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

nlohmann::json evaluate_model(const std::string& model_dir, const std::vector<std::string>& suites,
                              const EvalOptions& options, c10::Device device, c10::ScalarType dtype) {
  const auto& known = eval_suite_names();
  for (const auto& s : suites)
    if (std::find(known.begin(), known.end(), s) == known.end())
      throw Error("--suite: unknown suite '" + s + "' (icl, flipped, list_functions, turing_concepts)");
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

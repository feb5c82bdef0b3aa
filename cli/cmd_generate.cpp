// symtune generate: continue a prompt with a model, greedy or sampled, for sanity checks.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "data/tokenizer.h"
#include "model/generate.h"
#include "model/hf_checkpoint.h"

namespace symtune::cli {

namespace {
std::vector<int64_t> split_ids(const std::string& text) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 0) throw Error("--prompt-ids: '" + part + "' is not a token id");
    ids.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ids;
}
}  // namespace

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Continue a prompt with a model (greedy or sampled, with a KV cache)");
  struct Args {
    std::string model_dir, prompt, prompt_ids, dtype = "float32", device = "cpu";
    GenerateOptions gen;
    bool print_ids = false, no_bos = false, stop_at_eos = true;
  };
  auto a = std::make_shared<Args>();
  a->gen.max_new_tokens = 64;
  cmd->add_option("--model", a->model_dir, "HF model directory")->required();
  cmd->add_option("--prompt", a->prompt, "Prompt text (a BOS token is prepended)")->capture_default_str();
  cmd->add_option("--max-new-tokens", a->gen.max_new_tokens, "Tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), kMaxPromptTokens));
  cmd->add_option("--temperature", a->gen.temperature, "0 = greedy argmax; > 0 samples")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--top-k", a->gen.top_k, "Sample among the k most likely tokens (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", a->gen.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "Compute dtype: float32, bfloat16 or auto (bf16 on CUDA)")
      ->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_flag("--ids", a->print_ids, "Also print the prompt and generated token ids");
  cmd->add_option("--prompt-ids", a->prompt_ids,
                  "The prompt as comma-separated token ids (used as is: no BOS added; needs no tokenizer)");
  cmd->add_flag("--no-bos", a->no_bos, "Do not prepend the BOS token");
  cmd->add_flag("!--no-stop", a->stop_at_eos, "Keep generating past the EOS token");
  cmd->callback([a] {
    LoadOptions load;
    load.device = parse_device(a->device);
    load.dtype = parse_compute_dtype(a->dtype, load.device);
    auto model = load_pretrained(a->model_dir, load);
    const ModelConfig& config = model->config();
    if (!a->prompt_ids.empty()) {
      std::vector<int64_t> prompt;
      for (const auto& part : split_ids(a->prompt_ids)) prompt.push_back(part);
      GenerateOptions gen = a->gen;
      if (a->stop_at_eos) gen.stop_ids = config.eos_token_ids;
      std::cout << "generated ids:";
      for (int64_t id : generate(*model, prompt, gen)) std::cout << ' ' << id;
      std::cout << "\n";
      return;
    }
    SpecialTokenIds from_config{config.bos_token_id, config.first_eos_token_id(), config.pad_token_id};
    auto tokenizer = load_tokenizer(a->model_dir, from_config, config.vocab_size);
    std::vector<int64_t> prompt;
    const bool bos = !a->no_bos && tokenizer->special().bos && tokenizer->add_bos();
    if (bos) prompt.push_back(*tokenizer->special().bos);
    for (int64_t id : tokenizer->encode(a->prompt)) prompt.push_back(id);
    GenerateOptions gen = a->gen;
    if (a->stop_at_eos) gen.stop_ids = config.eos_token_ids;
    std::vector<int64_t> produced = generate(*model, prompt, gen);
    std::vector<int64_t> text_ids(prompt.begin() + (bos ? 1 : 0), prompt.end());
    text_ids.insert(text_ids.end(), produced.begin(), produced.end());
    std::cout << tokenizer->decode(text_ids) << "\n";
    if (a->print_ids) {
      std::cout << "prompt ids:";
      for (int64_t id : prompt) std::cout << ' ' << id;
      std::cout << "\ngenerated ids:";
      for (int64_t id : produced) std::cout << ' ' << id;
      std::cout << "\n";
    }
  });
}

}  // namespace symtune::cli

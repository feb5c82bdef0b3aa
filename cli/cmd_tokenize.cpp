// symtune tokenize: a model's tokenizer on text, for checks against other implementations.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "data/tokenizer.h"
#include "model/model_config.h"

namespace symtune::cli {

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Token ids of texts with a model's tokenizer (no BOS/EOS added)");
  auto model = std::make_shared<std::string>();
  auto text = std::make_shared<std::string>();
  auto jsonl = std::make_shared<std::string>();
  auto round_trip = std::make_shared<bool>(false);
  cmd->add_option("--model", *model, "Model directory (its tokenizer files)")->required();
  cmd->add_option("--text", *text, "One text; prints its ids");
  cmd->add_option("--jsonl", *jsonl, "A file with one JSON string per line; prints one JSON array of ids per line");
  cmd->add_flag("--round-trip", *round_trip, "With --jsonl: print decode(encode(text)) as a JSON string instead");
  cmd->callback([=] {
    const ModelConfig c = load_model_config(std::filesystem::path(*model) / "config.json");
    auto tok = load_tokenizer(*model, {c.bos_token_id, c.first_eos_token_id(), c.pad_token_id}, c.vocab_size);
    if (jsonl->empty()) {
      for (int64_t id : tok->encode(*text)) std::cout << id << ' ';
      std::cout << "\n";
      return;
    }
    std::ifstream in(*jsonl);
    if (!in) throw Error(*jsonl + ": cannot open");
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      nlohmann::json s;
      try {
        s = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(*jsonl + ":" + std::to_string(n) + ": not a JSON string: " + e.what());
      }
      const auto ids = tok->encode(s.get<std::string>());
      std::cout << (*round_trip ? nlohmann::json(tok->decode(ids)) : nlohmann::json(ids)).dump() << "\n";
    }
  });
}

}  // namespace symtune::cli

// symtune inspect: load and validate a model directory, then print what it holds.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "data/tokenizer.h"
#include "model/hf_checkpoint.h"

namespace symtune::cli {

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect",
                                 "Validate an HF model directory (config, every tensor, tokenizer) and summarise it");
  auto model_dir = std::make_shared<std::string>();
  auto skip_tokenizer = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_dir, "HF model directory")->required();
  cmd->add_flag("--no-tokenizer", *skip_tokenizer, "Do not require a tokenizer");
  cmd->callback([=] {
    auto model = load_pretrained(*model_dir);
    const ModelConfig& c = model->config();
    std::cout << "architecture: " << c.architecture_name << "\n"
              << "parameters: " << c.num_parameters() << "\n"
              << "layers: " << c.num_layers << ", hidden: " << c.hidden_size << ", mlp: " << c.intermediate_size
              << ", heads: " << c.num_heads << " (kv " << c.num_kv_heads << ", dim " << c.head_dim << ")\n"
              << "vocab: " << c.vocab_size << ", tied head: " << (c.tie_word_embeddings ? "yes" : "no")
              << ", rope: " << c.rope.type << " theta " << c.rope.theta << "\n";
    if (!*skip_tokenizer) {
      SpecialTokenIds ids{c.bos_token_id, c.first_eos_token_id(), c.pad_token_id};
      auto tok = load_tokenizer(*model_dir, ids, c.vocab_size);
      std::cout << "tokenizer: " << tok->vocab_size() << " pieces, bos "
                << (tok->special().bos ? std::to_string(*tok->special().bos) : "none") << ", eos "
                << (tok->special().eos ? std::to_string(*tok->special().eos) : "none") << "\n";
    }
  });
}

}  // namespace symtune::cli

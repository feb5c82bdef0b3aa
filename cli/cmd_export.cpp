// symtune export: rewrite an HF model directory (e.g. as bf16, or sharded) after loading and
// validating it, so the result is known to load in symtune and transformers alike.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "model/hf_checkpoint.h"

namespace symtune::cli {

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export",
                                 "Write a validated copy of an HF model directory (fp32 or bf16, optionally sharded)");
  auto model_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("float32");
  auto shard_mb = std::make_shared<double>(0);
  cmd->add_option("--model", *model_dir, "Source HF model directory")->required();
  cmd->add_option("--out", *out, "Output directory (must not exist or be empty)")->required();
  cmd->add_option("--dtype", *dtype, "Weight dtype written: float32 or bfloat16")->capture_default_str();
  cmd->add_option("--max-shard-mb", *shard_mb,
                  "Split weights into shards of at most this many MiB with model.safetensors.index.json (0 = one file)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([=] {
    SaveOptions save;
    save.stop_on_signal = true;
    save.show_progress = true;
    save.dtype = parse_storage_dtype(*dtype);
    auto model = load_pretrained(*model_dir);
    save.max_shard_bytes = static_cast<int64_t>(*shard_mb * 1024 * 1024);
    save.tokenizer_source_dir = *model_dir;
    save_pretrained(*model, *out, save);
    std::cout << "exported " << *model_dir << " -> " << *out << " (" << *dtype << ")\n";
  });
}

}  // namespace symtune::cli

// symtune export: rewrite an HF model directory (e.g. as bf16, or sharded) after loading and
// validating it, or turn a training checkpoint (sharded or not) into one, so the result is known
// to load in symtune and transformers alike. A checkpoint is consolidated tensor by tensor: the
// memory held is one tensor, however many ranks wrote it.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "model/hf_checkpoint.h"
#include "trainer/sharded_checkpoint.h"

namespace symtune::cli {
namespace fs = std::filesystem;

namespace {

void export_checkpoint(const fs::path& checkpoint, const fs::path& out, const SaveOptions& save) {
  const CheckpointReader reader(checkpoint);
  const ModelConfig config = load_model_config(checkpoint / "model" / "config.json");
  SaveOptions options = save;
  options.tokenizer_source_dir = checkpoint / "model";
  save_pretrained_streamed(
      config,
      [&](const TensorSpec& spec) {
        if (reader.weight_shape(spec.name) != spec.shape)
          throw Error(checkpoint.string() + ": tensor '" + spec.name + "' does not have the shape config.json implies");
        int64_t numel = 1;
        for (int64_t d : spec.shape) numel *= d;
        return reader.read_weight(spec.name, 0, numel).view(spec.shape);
      },
      out, options);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export",
                                 "Write a validated HF model directory (fp32 or bf16, optionally sharded) from an HF "
                                 "directory or a training checkpoint, sharded or not");
  auto model_dir = std::make_shared<std::string>();
  auto checkpoint = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("float32");
  auto shard_mb = std::make_shared<double>(0);
  auto* model_opt = cmd->add_option("--model", *model_dir, "Source HF model directory");
  auto* checkpoint_opt =
      cmd->add_option("--checkpoint", *checkpoint, "Source training checkpoint (runs/X/checkpoints/step_N)");
  model_opt->excludes(checkpoint_opt);
  cmd->add_option("--out", *out, "Output directory (must not exist or be empty)")->required();
  cmd->add_option("--dtype", *dtype, "Weight dtype written: float32 or bfloat16")->capture_default_str();
  cmd->add_option("--max-shard-mb", *shard_mb,
                  "Split weights into shards of at most this many MiB with model.safetensors.index.json (0 = one file)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([=] {
    if (model_dir->empty() == checkpoint->empty()) throw Error("export: give one of --model or --checkpoint");
    SaveOptions save;
    save.stop_on_signal = true;
    save.show_progress = true;
    save.dtype = parse_storage_dtype(*dtype);
    save.max_shard_bytes = static_cast<int64_t>(*shard_mb * 1024 * 1024);
    if (!checkpoint->empty()) {
      export_checkpoint(*checkpoint, *out, save);
      std::cout << "exported " << *checkpoint << " -> " << *out << " (" << *dtype << ")\n";
      return;
    }
    auto model = load_pretrained(*model_dir);
    save.tokenizer_source_dir = *model_dir;
    save_pretrained(*model, *out, save);
    std::cout << "exported " << *model_dir << " -> " << *out << " (" << *dtype << ")\n";
  });
}

}  // namespace symtune::cli

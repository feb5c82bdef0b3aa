// symtune convert: import a checkpoint from another format into an HF model directory.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/file_io.h"
#include "data/tokenizer.h"
#include "model/gguf_import.h"
#include "model/hf_checkpoint.h"
#include "model/llama2c_import.h"

#include <nlohmann/json.hpp>

namespace symtune::cli {
namespace fs = std::filesystem;

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Import a llama2.c or GGUF checkpoint into an HF model directory");
  auto format = std::make_shared<std::string>();
  auto input = std::make_shared<std::string>();
  auto tokenizer = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("float32");
  cmd->add_option("--from", *format,
                  "Source format: llama2c (legacy fp32 .bin) or gguf (llama.cpp; F32/F16/BF16/Q8_0/Q4_0/Q4_1)")
      ->required()
      ->check(CLI::IsMember({"llama2c", "gguf"}));
  cmd->add_option("input", *input, "Checkpoint file to convert")->required();
  cmd->add_option("--tokenizer", *tokenizer,
                  "llama2c: the SentencePiece tokenizer.model to ship with the model (required)");
  cmd->add_option("--out", *out, "Output model directory (must not exist or be empty)")->required();
  cmd->add_option("--dtype", *dtype, "Weight dtype written: float32 or bfloat16")->capture_default_str();
  cmd->callback([=] {
    if (*format == "gguf") {
      const GgufFile file = GgufFile::open(*input);
      auto model = import_gguf(file, /*show_progress=*/true);
      SaveOptions save;
      save.stop_on_signal = true;
      save.show_progress = true;
      save.dtype = parse_storage_dtype(*dtype);
      // The tokenizer travels as the GGUF's own metadata (data/bpe_tokenizer reads it), written
      // with the weights so the directory is complete or absent.
      nlohmann::json tok = nlohmann::json::object();
      for (auto it = file.metadata().begin(); it != file.metadata().end(); ++it)
        if (it.key().rfind("tokenizer.", 0) == 0) tok[it.key()] = it.value();
      save.extra_files["gguf_tokenizer.json"] = tok.dump() + "\n";
      save_pretrained(*model, *out, save);
      std::cout << "converted " << *input << " (GGUF v" << file.version() << ", " << file.tensors().size()
                << " tensors, " << model->config().num_parameters() << " parameters) -> " << *out << "\n";
      return;
    }
    if (tokenizer->empty())
      throw Error("convert --from llama2c: --tokenizer (a SentencePiece tokenizer.model) is required");
    auto model = import_llama2c(*input);
    // Check the tokenizer now: a model directory we cannot tokenize for is useless later.
    auto tok = load_sentencepiece(*tokenizer);
    if (tok->vocab_size() != model->config().vocab_size)
      throw Error(*tokenizer + ": tokenizer has " + std::to_string(tok->vocab_size()) + " pieces but " + *input +
                  " has vocab_size " + std::to_string(model->config().vocab_size));
    SaveOptions save;
    save.stop_on_signal = true;
    save.show_progress = true;
    save.dtype = parse_storage_dtype(*dtype);
    // The tokenizer under the names HF expects, written with the weights.
    save.extra_files["tokenizer.model"] = read_text_file(*tokenizer);
    save.extra_files["tokenizer_config.json"] =
        "{\n  \"tokenizer_class\": \"LlamaTokenizer\",\n  \"bos_token\": \"<s>\",\n"
        "  \"eos_token\": \"</s>\",\n  \"unk_token\": \"<unk>\",\n"
        "  \"add_bos_token\": true,\n  \"add_eos_token\": false\n}\n";
    save_pretrained(*model, *out, save);
    std::cout << "converted " << *input << " (" << model->config().num_parameters() << " parameters) -> " << *out
              << "\n";
  });
}

}  // namespace symtune::cli

// Tokenizer: text <-> token ids behind one interface, with the BOS/EOS/pad ids the model
// expects. SentencePiece (`tokenizer.model`, Llama-2/Mistral/Gemma style) and a byte
// tokenizer that needs no file (`symtune_tokenizer.json` {"type": "bytes"}), and byte-level BPE
// (`tokenizer.json`, or `gguf_tokenizer.json` kept from a GGUF file).
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace symtune {

struct SpecialTokenIds {
  std::optional<int64_t> bos, eos, pad;  // nullopt when the model has none
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Plain text to ids, without BOS or EOS (callers add them where the layout wants them).
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Whether sequences start with BOS (SentencePiece Llama tokenizers: yes; GPT-2-style BPE as
  // SmolLM uses: no, unless the tokenizer says so).
  virtual bool add_bos() const { return special_.bos.has_value(); }
  const SpecialTokenIds& special() const { return special_; }

 protected:
  SpecialTokenIds special_;
};

// Loads the tokenizer of an HF model directory. `config_special` (from config.json) takes
// precedence over the ids the tokenizer file declares. Throws Error naming the directory when
// no tokenizer file is there, and when the tokenizer's vocabulary does not fit in
// `model_vocab_size` (pass 0 to skip that check).
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir, const SpecialTokenIds& config_special,
                                          int64_t model_vocab_size);

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& tokenizer_model);
std::unique_ptr<Tokenizer> make_byte_tokenizer();
// Byte-level BPE (GPT-2 style) from an HF tokenizer.json, or from a GGUF's tokenizer.* metadata.
std::unique_ptr<Tokenizer> load_bpe_tokenizer_json(const std::filesystem::path& path);
std::unique_ptr<Tokenizer> load_bpe_from_gguf_metadata(const nlohmann::json& metadata, const std::string& origin);

// "bytes" = the byte tokenizer; a file = SentencePiece; a directory = load_tokenizer(dir).
// `config_special` and `model_vocab_size` as for load_tokenizer (defaults: the tokenizer's own
// ids, no check against a model).
std::unique_ptr<Tokenizer> load_tokenizer_spec(const std::string& spec, const SpecialTokenIds& config_special = {},
                                               int64_t model_vocab_size = 0);

// Writes the files that let load_tokenizer(dir) find the tokenizer named by `spec`.
void write_tokenizer_files(const std::string& spec, const std::filesystem::path& dir);

}  // namespace symtune

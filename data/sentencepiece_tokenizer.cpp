// SentencePiece-backed Tokenizer (Kudo & Richardson 2018) through Debian's libsentencepiece.
#include <sentencepiece_processor.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"
#include "data/tokenizer.h"

namespace symtune {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path)) throw Error(path.string() + ": tokenizer model not found");
    const auto status = processor_.Load(path.string());
    if (!status.ok()) throw Error(path.string() + ": not a SentencePiece model: " + status.ToString());
    auto id_or_none = [](int id) { return id >= 0 ? std::optional<int64_t>(id) : std::nullopt; };
    special_.bos = id_or_none(processor_.bos_id());
    special_.eos = id_or_none(processor_.eos_id());
    special_.pad = id_or_none(processor_.pad_id());
  }

  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int> ids;
    const auto status = processor_.Encode(text, &ids);
    if (!status.ok()) throw Error("sentencepiece: cannot encode text: " + status.ToString());
    return {ids.begin(), ids.end()};
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::vector<int> narrow(ids.begin(), ids.end());
    std::string text;
    const auto status = processor_.Decode(narrow, &text);
    if (!status.ok()) throw Error("sentencepiece: cannot decode ids: " + status.ToString());
    return text;
  }

  int64_t vocab_size() const override { return processor_.GetPieceSize(); }

  void override_special(const SpecialTokenIds& config_special) {
    if (config_special.bos) special_.bos = config_special.bos;
    if (config_special.eos) special_.eos = config_special.eos;
    if (config_special.pad) special_.pad = config_special.pad;
  }

 private:
  sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& tokenizer_model) {
  return std::make_unique<SentencePieceTokenizer>(tokenizer_model);
}

namespace {

std::unique_ptr<Tokenizer> sentencepiece_with(const std::filesystem::path& tokenizer_model,
                                              const SpecialTokenIds& config_special) {
  auto sp = std::make_unique<SentencePieceTokenizer>(tokenizer_model);
  sp->override_special(config_special);
  return sp;
}

// The tokenizer must fit the model: its vocabulary, and its special ids, inside the model's.
std::unique_ptr<Tokenizer> checked_against_model(std::unique_ptr<Tokenizer> tokenizer, const std::string& origin,
                                                 const std::string& vocab_origin, int64_t model_vocab_size) {
  if (model_vocab_size > 0 && tokenizer->vocab_size() > model_vocab_size)
    throw Error(vocab_origin + ": tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                " pieces but the model's vocab_size is " + std::to_string(model_vocab_size) +
                "; tokenizer and model do not belong together");
  for (auto [name, id] : {std::pair{"bos", tokenizer->special().bos}, std::pair{"eos", tokenizer->special().eos},
                          std::pair{"pad", tokenizer->special().pad}})
    if (id && model_vocab_size > 0 && (*id < 0 || *id >= model_vocab_size))
      throw Error(origin + ": " + name + " token id " + std::to_string(*id) + " is outside the model's vocabulary of " +
                  std::to_string(model_vocab_size));
  return tokenizer;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir, const SpecialTokenIds& config_special,
                                          int64_t model_vocab_size) {
  const auto sp_path = model_dir / "tokenizer.model";
  std::unique_ptr<Tokenizer> tokenizer;
  if (std::filesystem::exists(sp_path)) {
    tokenizer = sentencepiece_with(sp_path, config_special);
  } else if (std::filesystem::exists(model_dir / "tokenizer.json")) {
    tokenizer = load_bpe_tokenizer_json(model_dir / "tokenizer.json");
  } else if (std::filesystem::exists(model_dir / "gguf_tokenizer.json")) {
    const auto path = model_dir / "gguf_tokenizer.json";
    tokenizer = load_bpe_from_gguf_metadata(nlohmann::json::parse(read_text_file(path)), path.string());
  } else if (std::filesystem::exists(model_dir / "symtune_tokenizer.json")) {
    const std::string text = read_text_file(model_dir / "symtune_tokenizer.json");
    if (text.find("\"bytes\"") == std::string::npos)
      throw Error((model_dir / "symtune_tokenizer.json").string() +
                  ": unknown tokenizer type (expected {\"type\": \"bytes\"})");
    tokenizer = make_byte_tokenizer();
  } else {
    throw Error(model_dir.string() +
                ": no tokenizer found (expected tokenizer.model, tokenizer.json, "
                "gguf_tokenizer.json or symtune_tokenizer.json)");
  }
  return checked_against_model(std::move(tokenizer), model_dir.string(), sp_path.string(), model_vocab_size);
}

std::unique_ptr<Tokenizer> load_tokenizer_spec(const std::string& spec, const SpecialTokenIds& config_special,
                                               int64_t model_vocab_size) {
  if (std::filesystem::is_directory(spec)) return load_tokenizer(spec, config_special, model_vocab_size);
  std::unique_ptr<Tokenizer> tokenizer =
      spec == "bytes" ? make_byte_tokenizer() : sentencepiece_with(spec, config_special);
  return checked_against_model(std::move(tokenizer), spec, spec, model_vocab_size);
}

void write_tokenizer_files(const std::string& spec, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  if (spec == "bytes") {
    write_text_file_atomically(dir / "symtune_tokenizer.json", "{\"type\": \"bytes\"}\n");
  } else if (std::filesystem::is_directory(spec)) {
    for (const char* name : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                             "symtune_tokenizer.json", "gguf_tokenizer.json"})
      if (std::filesystem::exists(std::filesystem::path(spec) / name))
        write_text_file_atomically(dir / name, read_text_file(std::filesystem::path(spec) / name));
  } else {
    write_text_file_atomically(dir / "tokenizer.model", read_text_file(spec));
  }
}

}  // namespace symtune

// Byte-level BPE (Radford et al. 2019, GPT-2; Sennrich et al. 2016): text is normalized (NFC,
// when the tokenizer asks) and split by the family's pre-tokenizer pattern (data/pretokenizer.h),
// each piece's UTF-8 bytes are mapped to printable characters (GPT-2's byte-to-unicode table),
// and merges are applied lowest rank first (a piece that is itself a token is taken whole when
// the tokenizer ignores merges, as Llama 3's does). Special tokens are matched whole before
// splitting. Vocabulary and merges come from an HF tokenizer.json or from a GGUF's tokenizer
// metadata.
#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/error.h"
#include "common/file_io.h"
#include "data/pretokenizer.h"
#include "data/tokenizer.h"

namespace symtune {
namespace {
using json = nlohmann::json;

std::string encode_utf8(char32_t c) {
  std::string out;
  if (c < 0x80) out += static_cast<char>(c);
  else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest are shifted
// past U+0100, so every byte has a visible one-character representation.
struct ByteTable {
  std::string byte_to_char[256];
  std::unordered_map<char32_t, uint8_t> char_to_byte;
  ByteTable() {
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      byte_to_char[b] = encode_utf8(c);
      char_to_byte[c] = static_cast<uint8_t>(b);
    }
  }
};
const ByteTable& byte_table() {
  static const ByteTable table;
  return table;
}

// How text becomes pieces before merges.
struct Splitting {
  PreTokenizerPattern pattern = PreTokenizerPattern::kGpt2;
  bool nfc = false;            // normalize to NFC first
  bool ignore_merges = false;  // a piece that is a token is taken whole
};

class BpeTokenizer : public Tokenizer {
 public:
  BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::pair<std::string, std::string>>& merges,
               std::vector<std::string> specials, bool add_bos, const std::string& origin,
               Splitting splitting = Splitting())
      : tokens_(std::move(tokens)), add_bos_(add_bos), splitting_(splitting) {
    for (size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], static_cast<int64_t>(i));
    for (size_t r = 0; r < merges.size(); ++r) {
      const auto& [a, b] = merges[r];
      if (!ids_.count(a) || !ids_.count(b) || !ids_.count(a + b))
        throw Error(origin + ": merge " + std::to_string(r) + " ('" + a + "' '" + b +
                    "') uses or makes a token missing from the vocabulary; vocabulary and merges do not match");
      ranks_.emplace(a + '\x01' + b, static_cast<int>(r));
    }
    for (auto& s : specials) {
      if (!ids_.count(s)) throw Error(origin + ": special token '" + s + "' is not in the vocabulary");
      specials_.push_back(std::move(s));
    }
    // Longest first, so "<|im_start|>" wins over any shorter special token that prefixes it.
    std::sort(specials_.begin(), specials_.end(), [](const auto& x, const auto& y) { return x.size() > y.size(); });
  }

  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t next = text.size();
      const std::string* hit = nullptr;
      for (const auto& s : specials_) {
        const size_t at = text.find(s, start);
        if (at != std::string::npos && (at < next || (at == next && hit && s.size() > hit->size()))) {
          next = at;
          hit = &s;
        }
      }
      encode_ordinary(text.substr(start, next - start), out);
      if (hit == nullptr) break;
      out.push_back(ids_.at(*hit));
      start = next + hit->size();
    }
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string chars, out;
    const auto& table = byte_table();
    for (int64_t id : ids) {
      if (id < 0 || id >= static_cast<int64_t>(tokens_.size())) continue;
      const std::string& t = tokens_[id];
      if (std::find(specials_.begin(), specials_.end(), t) != specials_.end()) {
        out += t;
        continue;
      }
      for (size_t i = 0; i < t.size();) {
        size_t len;
        const char32_t c = decode_utf8(t, i, len);
        auto it = table.char_to_byte.find(c);
        out += it != table.char_to_byte.end() ? static_cast<char>(it->second) : '?';
        i += len;
      }
    }
    return out;
  }

  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  bool add_bos() const override { return add_bos_; }
  void set_special(const SpecialTokenIds& s) { special_ = s; }

 private:
  void encode_ordinary(const std::string& text, std::vector<int64_t>& out) const {
    for (const auto& piece : split_pretokens(splitting_.nfc ? normalize_nfc(text) : text, splitting_.pattern)) {
      {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        auto it = cache_.find(piece);
        if (it != cache_.end()) {
          out.insert(out.end(), it->second.begin(), it->second.end());
          continue;
        }
      }
      std::vector<int64_t> ids = bpe(piece);
      out.insert(out.end(), ids.begin(), ids.end());
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (cache_.size() < 200000) cache_.emplace(piece, std::move(ids));
    }
  }

  std::vector<int64_t> bpe(const std::string& piece) const {
    std::vector<std::string> symbols;
    for (unsigned char b : piece) symbols.push_back(byte_table().byte_to_char[b]);
    if (splitting_.ignore_merges) {
      std::string whole;
      for (const auto& s : symbols) whole += s;
      if (auto it = ids_.find(whole); it != ids_.end()) return {it->second};
    }
    while (symbols.size() > 1) {
      int best = INT_MAX;
      size_t at = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        auto it = ranks_.find(symbols[i] + '\x01' + symbols[i + 1]);
        if (it != ranks_.end() && it->second < best) {
          best = it->second;
          at = i;
        }
      }
      if (best == INT_MAX) break;
      // Merge every occurrence of the best pair, left to right.
      const std::string a = symbols[at], b = symbols[at + 1];
      std::vector<std::string> merged;
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
          merged.push_back(a + b);
          i += 2;
        } else {
          merged.push_back(symbols[i++]);
        }
      }
      symbols.swap(merged);
    }
    std::vector<int64_t> ids;
    for (const auto& s : symbols) {
      auto it = ids_.find(s);
      if (it == ids_.end()) throw Error("bpe: symbol '" + s + "' has no token id");
      ids.push_back(it->second);
    }
    return ids;
  }

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
  std::unordered_map<std::string, int> ranks_;
  std::vector<std::string> specials_;
  bool add_bos_;
  Splitting splitting_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
  mutable std::mutex cache_mutex_;
};

std::pair<std::string, std::string> split_merge(const json& m, const std::string& origin) {
  if (m.is_string()) {
    const std::string s = m.get<std::string>();
    const size_t space = s.find(' ', 1);
    if (space == std::string::npos) throw Error(origin + ": merge '" + s + "' is not 'a b'");
    return {s.substr(0, space), s.substr(space + 1)};
  }
  if (m.is_array() && m.size() == 2) return {m[0].get<std::string>(), m[1].get<std::string>()};
  throw Error(origin + ": a merge must be \"a b\" or [a, b], found " + m.dump());
}

// The normalizer and pre-tokenizer of a tokenizer.json, as one of the known splittings: a
// ByteLevel pre-tokenizer with its own (GPT-2) regex, or a Split by a known pattern followed by
// ByteLevel without a regex; no normalizer or NFC. Anything else is refused by name.
Splitting read_splitting(const json& j, const std::string& where) {
  Splitting out;
  const json& norm = j.value("normalizer", json());
  if (norm.is_object() && norm.value("type", "") == "NFC") out.nfc = true;
  else if (!norm.is_null())
    throw Error(where + ": normalizer " + norm.dump().substr(0, 120) + " is not supported (none or NFC)");
  const json& pre = j.value("pre_tokenizer", json());
  auto byte_level = [](const json& p, bool with_regex) {
    return p.is_object() && p.value("type", "") == "ByteLevel" && p.value("use_regex", true) == with_regex &&
           !p.value("add_prefix_space", false);
  };
  bool ok = byte_level(pre, true);
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.value("pretokenizers", json()).is_array() &&
      pre["pretokenizers"].size() == 2) {
    const json& split = pre["pretokenizers"][0];
    const json regex = split.is_object() ? split.value("pattern", json::object()).value("Regex", json()) : json();
    const auto pattern = regex.is_string() ? pattern_of_regex(regex.get<std::string>()) : std::nullopt;
    if (split.value("type", "") == "Split" && !pattern)
      throw Error(where + ": pre-tokenizer pattern " + regex.dump().substr(0, 160) +
                  " is not supported (known: GPT-2's, Qwen2's, Llama 3's)");
    ok = pattern && split.value("behavior", "") == "Isolated" && !split.value("invert", false) &&
         byte_level(pre["pretokenizers"][1], false);
    if (pattern) out.pattern = *pattern;
  }
  if (!ok)
    throw Error(where + ": pre_tokenizer " + pre.dump().substr(0, 160) +
                " is not supported (ByteLevel with GPT-2's pattern, or Split by GPT-2's, Qwen2's or Llama 3's pattern "
                "then ByteLevel)");
  out.ignore_merges = j.at("model").value("ignore_merges", false);
  return out;
}

}  // namespace

std::unique_ptr<Tokenizer> load_bpe_tokenizer_json(const std::filesystem::path& path) {
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
  const std::string where = path.string();
  if (!j.contains("model") || j["model"].value("type", "") != "BPE")
    throw Error(where + ": only byte-level BPE tokenizers are supported (model.type \"BPE\")");
  const Splitting splitting = read_splitting(j, where);
  std::vector<std::string> tokens(j["model"]["vocab"].size());
  for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it) {
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(tokens.size()))
      throw Error(where + ": token id " + std::to_string(id) + " out of range");
    tokens[id] = it.key();
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& m : j["model"]["merges"]) merges.push_back(split_merge(m, where));
  std::vector<std::string> specials;
  // Every added token is matched whole before splitting, special or not (Qwen3's "<think>" is
  // not special), as `tokenizers` does.
  for (const auto& a : j.value("added_tokens", json::array())) specials.push_back(a["content"].get<std::string>());
  return std::make_unique<BpeTokenizer>(std::move(tokens), merges, std::move(specials), false, where, splitting);
}

std::unique_ptr<Tokenizer> load_bpe_from_gguf_metadata(const nlohmann::json& meta, const std::string& origin) {
  const std::string model = meta.value("tokenizer.ggml.model", "");
  if (model != "gpt2")
    throw Error(origin + ": tokenizer.ggml.model '" + model + "' is not supported (gpt2 = byte-level BPE)");
  const std::string pre = meta.value("tokenizer.ggml.pre", "default");
  if (pre != "default" && pre != "gpt2" && pre != "smollm")
    throw Error(origin + ": tokenizer.ggml.pre '" + pre +
                "' is not supported (default, gpt2, smollm: the GPT-2 pattern)");
  std::vector<std::string> tokens = meta.at("tokenizer.ggml.tokens").get<std::vector<std::string>>();
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& m : meta.value("tokenizer.ggml.merges", json::array())) merges.push_back(split_merge(m, origin));
  std::vector<std::string> specials;
  const auto types = meta.value("tokenizer.ggml.token_type", std::vector<int>{});
  if (!types.empty() && types.size() != tokens.size())
    throw Error(origin + ": tokenizer.ggml.token_type has " + std::to_string(types.size()) + " entries for " +
                std::to_string(tokens.size()) + " tokens");
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] == 3 || types[i] == 4) specials.push_back(tokens[i]);  // control and user-defined tokens
  auto tok = std::make_unique<BpeTokenizer>(std::move(tokens), merges, std::move(specials),
                                            meta.value("tokenizer.ggml.add_bos_token", false), origin);
  SpecialTokenIds ids;
  if (meta.contains("tokenizer.ggml.bos_token_id")) ids.bos = meta["tokenizer.ggml.bos_token_id"].get<int64_t>();
  if (meta.contains("tokenizer.ggml.eos_token_id")) ids.eos = meta["tokenizer.ggml.eos_token_id"].get<int64_t>();
  if (meta.contains("tokenizer.ggml.padding_token_id"))
    ids.pad = meta["tokenizer.ggml.padding_token_id"].get<int64_t>();
  tok->set_special(ids);
  return tok;
}

}  // namespace symtune

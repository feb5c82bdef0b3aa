// Byte-level BPE (Radford et al. 2019, GPT-2; Sennrich et al. 2016): text is split by the GPT-2
// pre-tokenizer pattern, each piece's UTF-8 bytes are mapped to printable characters (GPT-2's
// byte-to-unicode table), and merges are applied lowest rank first. Special tokens are matched
// whole before splitting. Vocabulary and merges come from an HF tokenizer.json or from a GGUF's
// tokenizer metadata. Unicode classes (letters, numbers, white space) come from ICU.
#include <unicode/uchar.h>

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/error.h"
#include "common/file_io.h"
#include "data/tokenizer.h"

namespace symtune {
namespace {
using json = nlohmann::json;

// Decodes one UTF-8 code point at s[i]; invalid bytes decode as themselves (U+FFFD-free, so
// every byte still reaches the byte-level table).
char32_t decode_utf8(const std::string& s, size_t i, size_t& length) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) {
    length = 1;
    return c;
  }
  if ((c & 0xE0) == 0xC0 && cont(1)) {
    length = 2;
    return ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
  }
  if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    length = 3;
    return ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
  }
  if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    length = 4;
    return ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
  }
  length = 1;
  return 0xFFFD;
}

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

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }
bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }

// GPT-2's pre-tokenizer pattern, by hand:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::string> gpt2_split(const std::string& text) {
  std::vector<char32_t> cps;
  std::vector<size_t> offsets;
  for (size_t i = 0; i < text.size();) {
    size_t len;
    offsets.push_back(i);
    cps.push_back(decode_utf8(text, i, len));
    i += len;
  }
  offsets.push_back(text.size());
  const size_t n = cps.size();
  std::vector<std::string> pieces;
  size_t i = 0;
  auto emit = [&](size_t from, size_t to) {
    pieces.push_back(text.substr(offsets[from], offsets[to] - offsets[from]));
  };
  while (i < n) {
    // Contractions.
    if (cps[i] == U'\'' && i + 1 < n) {
      static const std::vector<std::u32string> suffixes{U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};
      bool matched = false;
      for (const auto& suf : suffixes) {
        if (i + 1 + suf.size() <= n && std::equal(suf.begin(), suf.end(), cps.begin() + static_cast<long>(i) + 1)) {
          emit(i, i + 1 + suf.size());
          i += 1 + suf.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    const size_t start = i;
    size_t j = i;
    if (cps[j] == U' ' && j + 1 < n && !is_space(cps[j + 1])) ++j;  // the optional leading space
    if (j < n && is_letter(cps[j])) {
      while (j < n && is_letter(cps[j])) ++j;
      emit(start, j);
      i = j;
      continue;
    }
    if (j < n && is_number(cps[j])) {
      while (j < n && is_number(cps[j])) ++j;
      emit(start, j);
      i = j;
      continue;
    }
    if (j < n && !is_space(cps[j])) {
      while (j < n && !is_space(cps[j]) && !is_letter(cps[j]) && !is_number(cps[j])) ++j;
      emit(start, j);
      i = j;
      continue;
    }
    // White space: all of it when it ends the text or is followed by more of itself; otherwise
    // all but the last character, which then prefixes the next piece.
    size_t k = i;
    while (k < n && is_space(cps[k])) ++k;
    if (k < n && k - i > 1) k -= 1;
    emit(i, k);
    i = k;
  }
  return pieces;
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

class BpeTokenizer : public Tokenizer {
 public:
  BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::pair<std::string, std::string>>& merges,
               std::vector<std::string> specials, bool add_bos, const std::string& origin)
      : tokens_(std::move(tokens)), add_bos_(add_bos) {
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
    for (const auto& piece : gpt2_split(text)) {
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
  const json& pre = j.value("pre_tokenizer", json());
  auto is_byte_level = [](const json& p) { return p.is_object() && p.value("type", "") == "ByteLevel"; };
  bool ok = is_byte_level(pre);
  if (pre.is_object() && pre.value("type", "") == "Sequence")
    for (const auto& p : pre["pretokenizers"]) ok = ok || is_byte_level(p);
  if (!ok)
    throw Error(where + ": pre_tokenizer " + pre.dump().substr(0, 120) +
                " is not supported (ByteLevel, GPT-2 pattern)");
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
  for (const auto& a : j.value("added_tokens", json::array()))
    if (a.value("special", false)) specials.push_back(a["content"].get<std::string>());
  return std::make_unique<BpeTokenizer>(std::move(tokens), merges, std::move(specials), false, where);
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

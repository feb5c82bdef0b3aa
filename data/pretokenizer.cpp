#include "data/pretokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>

#include "common/error.h"

namespace symtune {

namespace {

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }
bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }
bool is_newline(char32_t c) { return c == U'\r' || c == U'\n'; }
bool in_categories(char32_t c, uint32_t mask) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & mask) != 0; }
// o200k's case classes: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and [\p{Ll}\p{Lm}\p{Lo}\p{M}] (Lm, Lo and
// marks are in both).
bool is_upper_class(char32_t c) {
  return in_categories(c, U_GC_LU_MASK | U_GC_LT_MASK | U_GC_LM_MASK | U_GC_LO_MASK | U_GC_M_MASK);
}
bool is_lower_class(char32_t c) { return in_categories(c, U_GC_LL_MASK | U_GC_LM_MASK | U_GC_LO_MASK | U_GC_M_MASK); }
// [^\s\p{L}\p{N}]
bool is_other(char32_t c) { return !is_space(c) && !is_letter(c) && !is_number(c); }

const char* const kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char* const kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kO200kRegex =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|"
    "'d)?|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|"
    "'d)?|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGpt2Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// The text as code points, with the byte offset of each (and of the end).
struct CodePoints {
  std::vector<char32_t> cps;
  std::vector<size_t> offsets;
  explicit CodePoints(const std::string& text) {
    for (size_t i = 0; i < text.size();) {
      size_t len;
      offsets.push_back(i);
      cps.push_back(decode_utf8(text, i, len));
      i += len;
    }
    offsets.push_back(text.size());
  }
  // The bytes of code points [from, to) of `text`.
  std::string piece(const std::string& text, size_t from, size_t to) const {
    return text.substr(offsets[from], offsets[to] - offsets[from]);
  }
};

// 's 't 're 've 'm 'll 'd at i (case-insensitive when asked): the match's length, or 0.
size_t contraction_at(const std::vector<char32_t>& cps, size_t i, bool any_case) {
  if (cps[i] != U'\'' || i + 1 >= cps.size()) return 0;
  static const std::u32string kSuffixes[] = {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};
  for (const auto& suffix : kSuffixes) {
    if (i + 1 + suffix.size() > cps.size()) continue;
    bool same = true;
    for (size_t k = 0; k < suffix.size() && same; ++k) {
      const char32_t c = cps[i + 1 + k];
      same = c == suffix[k] || (any_case && c == suffix[k] - U'a' + U'A');
    }
    if (same) return 1 + suffix.size();
  }
  return 0;
}

// \s+(?!\S)|\s+ on the white-space run [i, k): all of it when it ends the text or is one
// character; otherwise all but the last, which then starts the next piece.
size_t whitespace_end(size_t i, size_t k, size_t n) { return k < n && k - i > 1 ? k - 1 : k; }

// The white-space alternatives \s*[\r\n]+|\s+(?!\S)|\s+ at i: up to the run's last line break,
// else all of the run but a last character that starts the next piece.
size_t whitespace_piece_end(const std::vector<char32_t>& cps, size_t i) {
  const size_t n = cps.size();
  size_t k = i;
  while (k < n && is_space(cps[k])) ++k;
  for (size_t m = k; m > i; --m)
    if (is_newline(cps[m - 1])) return m;
  return whitespace_end(i, k, n);
}

std::vector<std::string> split_gpt2(const std::string& text, const CodePoints& t) {
  const auto& cps = t.cps;
  const size_t n = cps.size();
  std::vector<std::string> pieces;
  auto emit = [&](size_t from, size_t to) { pieces.push_back(t.piece(text, from, to)); };
  for (size_t i = 0; i < n;) {
    if (const size_t len = contraction_at(cps, i, false)) {
      emit(i, i + len);
      i += len;
      continue;
    }
    size_t j = i;
    if (cps[j] == U' ' && j + 1 < n && !is_space(cps[j + 1])) ++j;  // the optional leading space
    if (j < n && !is_space(cps[j])) {
      const auto same_class = is_letter(cps[j]) ? is_letter : is_number(cps[j]) ? is_number : is_other;
      while (j < n && same_class(cps[j])) ++j;
      emit(i, j);
      i = j;
      continue;
    }
    size_t k = i;
    while (k < n && is_space(cps[k])) ++k;
    k = whitespace_end(i, k, n);
    emit(i, k);
    i = k;
  }
  return pieces;
}

// The Qwen2 / Llama 3 pattern; `max_digits` 1 or 3.
std::vector<std::string> split_cl100k_style(const std::string& text, const CodePoints& t, size_t max_digits) {
  const auto& cps = t.cps;
  const size_t n = cps.size();
  std::vector<std::string> pieces;
  auto emit = [&](size_t from, size_t to) { pieces.push_back(t.piece(text, from, to)); };
  for (size_t i = 0; i < n;) {
    size_t end = i;
    if (const size_t len = contraction_at(cps, i, true)) {
      end = i + len;
    } else if (is_letter(cps[i]) || (!is_newline(cps[i]) && !is_letter(cps[i]) && !is_number(cps[i]) && i + 1 < n &&
                                     is_letter(cps[i + 1]))) {
      end = i + 1;  // [^\r\n\p{L}\p{N}]?\p{L}+
      while (end < n && is_letter(cps[end])) ++end;
    } else if (is_number(cps[i])) {
      while (end < n && end - i < max_digits && is_number(cps[end])) ++end;
    } else if (is_other(cps[i]) || (cps[i] == U' ' && i + 1 < n && is_other(cps[i + 1]))) {
      end = cps[i] == U' ' ? i + 1 : i;  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
      while (end < n && is_other(cps[end])) ++end;
      while (end < n && is_newline(cps[end])) ++end;
    } else {
      end = whitespace_piece_end(cps, i);
    }
    emit(i, end);
    i = end;
  }
  return pieces;
}

// o200k's two letter alternatives at i, as a backtracking engine takes them: the optional
// [^\r\n\p{L}\p{N}] prefix first taken, then not; alternative 1 an upper-class run (given back
// one at a time) ending in a non-empty lower-class run, alternative 2 a non-empty upper-class
// run and any lower-class run; each then an optional contraction. The match's end, or i.
size_t o200k_letters_end(const std::vector<char32_t>& cps, size_t i) {
  const size_t n = cps.size();
  const bool prefix = !is_newline(cps[i]) && !is_letter(cps[i]) && !is_number(cps[i]);
  auto run_end = [&](size_t j, bool (*in)(char32_t)) {
    while (j < n && in(cps[j])) ++j;
    return j;
  };
  auto with_contraction = [&](size_t e) { return e + (e < n ? contraction_at(cps, e, true) : 0); };
  for (int alternative = 1; alternative <= 2; ++alternative)
    for (size_t j = prefix ? i + 1 : i; j + 1 > i; --j) {  // prefix taken, then not
      const size_t upper_end = run_end(j, is_upper_class);
      if (alternative == 1) {
        for (size_t u = upper_end + 1; u-- > j;)
          if (u < n && is_lower_class(cps[u])) return with_contraction(run_end(u, is_lower_class));
      } else if (upper_end > j) {
        return with_contraction(run_end(upper_end, is_lower_class));
      }
      if (j == i) break;
    }
  return i;
}

// o200k (GPT-4o; Phi-4-mini): letters split by case, \p{N}{1,3}, punctuation runs that take
// trailing line breaks and slashes, white space as cl100k.
std::vector<std::string> split_o200k(const std::string& text, const CodePoints& t) {
  const auto& cps = t.cps;
  const size_t n = cps.size();
  std::vector<std::string> pieces;
  for (size_t i = 0; i < n;) {
    size_t end = o200k_letters_end(cps, i);
    if (end == i && is_number(cps[i])) {
      while (end < n && end - i < 3 && is_number(cps[end])) ++end;
    } else if (end == i && (is_other(cps[i]) || (cps[i] == U' ' && i + 1 < n && is_other(cps[i + 1])))) {
      end = cps[i] == U' ' ? i + 1 : i;  // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
      while (end < n && is_other(cps[end])) ++end;
      while (end < n && (is_newline(cps[end]) || cps[end] == U'/')) ++end;
    } else if (end == i) {
      end = whitespace_piece_end(cps, i);
    }
    pieces.push_back(t.piece(text, i, end));
    i = end;
  }
  return pieces;
}

}  // namespace

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

std::optional<PreTokenizerPattern> pattern_of_regex(const std::string& regex) {
  if (regex == kQwen2Regex) return PreTokenizerPattern::kQwen2;
  if (regex == kLlama3Regex) return PreTokenizerPattern::kLlama3;
  if (regex == kGpt2Regex) return PreTokenizerPattern::kGpt2;
  if (regex == kO200kRegex) return PreTokenizerPattern::kO200k;
  return std::nullopt;
}

std::vector<std::string> split_pretokens(const std::string& text, PreTokenizerPattern pattern) {
  const CodePoints t(text);
  switch (pattern) {
    case PreTokenizerPattern::kQwen2:
      return split_cl100k_style(text, t, 1);
    case PreTokenizerPattern::kLlama3:
      return split_cl100k_style(text, t, 3);
    case PreTokenizerPattern::kO200k:
      return split_o200k(text, t);
    default:
      return split_gpt2(text, t);
  }
}

std::string normalize_nfc(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw Error(std::string("tokenizer: ICU has no NFC normalizer: ") + u_errorName(status));
  const icu::UnicodeString normalized = nfc->normalize(icu::UnicodeString::fromUTF8(text), status);
  if (U_FAILURE(status)) throw Error(std::string("tokenizer: NFC normalization failed: ") + u_errorName(status));
  std::string out;
  return normalized.toUTF8String(out);
}

}  // namespace symtune

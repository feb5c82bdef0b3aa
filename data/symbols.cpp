#include "data/symbols.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/config_table.h"
#include "common/error.h"
#include "data/rng.h"

namespace symtune {
using json = nlohmann::json;

std::string spreadsheet_column_name(int64_t index) {
  std::string name;
  for (int64_t n = index + 1; n > 0; n = (n - 1) / 26) name.insert(name.begin(), static_cast<char>('A' + (n - 1) % 26));
  return name;
}

// Checks between fields; ranges are checked when the fields are read (symbol_table()).
void SymbolPoolConfig::validate(const std::string& where) const {
  if (heldout_integer_end < heldout_integer_begin)
    throw Error(where + ": 'heldout_integer_end' must be >= 'heldout_integer_begin'");
  if (heldout_letter_end < heldout_letter_begin)
    throw Error(where + ": 'heldout_letter_end' must be >= 'heldout_letter_begin'");
  if (heldout_letter_begin < tuning_letter_strings)
    throw Error(where + ": held-out letter strings start at index " + std::to_string(heldout_letter_begin) +
                ", inside the tuning letter strings; the pools must be disjoint");
  if (heldout_integer_begin < tuning_integers)
    throw Error(where + ": held-out integers start at " + std::to_string(heldout_integer_begin) +
                ", inside the tuning integers 0.." + std::to_string(tuning_integers - 1) +
                "; the pools must be disjoint");
}

namespace {

constexpr int64_t kMaxPoolSize = 100'000'000;  // far above the paper's 100k; bounds the pool's memory

const ConfigTable<SymbolPoolConfig>& symbol_table() {
  using S = SymbolPoolConfig;
  static const ConfigTable<SymbolPoolConfig> table =
      ConfigTable<SymbolPoolConfig>()
          .custom({"word_list", "path", default_text(S{}.word_list), "a file of words, one per line, or \"\"",
                   "English words for symbols; named here it must exist, by default it is used when "
                   "installed, \"\" = generated pseudo-words"},
                  [](const json& j, S& c, const FieldContext& ctx) {
                    if (!j.contains("word_list")) return;
                    read_path(j, "word_list", c.word_list, ctx);
                    c.word_list_required = !c.word_list.empty();
                  })
          .integer("tuning_integers", &S::tuning_integers, {0, kMaxPoolSize}, "tuning integers 0 .. n-1")
          .integer("tuning_letter_strings", &S::tuning_letter_strings, {0, kMaxPoolSize},
                   "tuning letter strings A .. the n-th spreadsheet column name")
          .integer("tuning_words", &S::tuning_words, {0, kMaxPoolSize}, "words of the list used for tuning")
          .integer("heldout_integer_begin", &S::heldout_integer_begin, {0, kMaxPoolSize},
                   "first held-out integer (at or after the tuning integers)")
          .integer("heldout_integer_end", &S::heldout_integer_end, {0, kMaxPoolSize},
                   "held-out integers end (exclusive)")
          .integer("heldout_letter_begin", &S::heldout_letter_begin, {0, kMaxPoolSize},
                   "first held-out letter string, as a 0-based index (10000 = the 10,001st, NTQ)")
          .integer("heldout_letter_end", &S::heldout_letter_end, {0, kMaxPoolSize},
                   "held-out letter strings end (exclusive index)")
          .integer("heldout_words", &S::heldout_words, {-1, kMaxPoolSize},
                   "held-out words; -1 = every word not used for tuning")
          .seed("seed", &S::seed, "seed of the shuffle that picks the tuning words");
  return table;
}

}  // namespace

const std::vector<FieldDoc>& symbol_pool_config_fields() { return symbol_table().docs(); }

SymbolPoolConfig parse_symbol_pool_config(const json& j, const std::string& where,
                                          const std::filesystem::path& base_dir) {
  SymbolPoolConfig c;
  symbol_table().read(j, c, {where, base_dir});
  c.validate(where);
  return c;
}

namespace {

// Lower-case ASCII words of 2-12 letters: no capitals (names), apostrophes or accents, so a
// symbol is one plain token-ish word and never collides with the upper-case letter strings.
bool usable_word(const std::string& w) {
  if (w.size() < 2 || w.size() > 12) return false;
  return std::all_of(w.begin(), w.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; });
}

// Pronounceable consonant-vowel words, enumerated in a fixed order: ba, be, ..., baba, ...
std::vector<std::string> generated_words(size_t count) {
  static const char* consonants = "bdfgklmnprstvz";
  static const char* vowels = "aeiou";
  std::vector<std::string> syllables;
  for (const char* c = consonants; *c; ++c)
    for (const char* v = vowels; *v; ++v) syllables.push_back(std::string{*c, *v});
  std::vector<std::string> out;
  const size_t s = syllables.size();
  for (size_t length = 2; out.size() < count; ++length) {  // 2, 3, ... syllables
    size_t total = 1;
    for (size_t i = 0; i < length; ++i) total *= s;
    for (size_t idx = 0; idx < total && out.size() < count; ++idx) {
      std::string w;
      for (size_t i = 0, n = idx; i < length; ++i, n /= s) w += syllables[n % s];
      out.push_back(w);
    }
  }
  return out;
}

}  // namespace

SymbolPools build_symbol_pools(const SymbolPoolConfig& c) {
  SymbolPools pools;
  std::vector<std::string> words;
  std::ifstream in;
  if (!c.word_list.empty()) in.open(c.word_list);
  if (in.is_open()) {
    std::set<std::string> unique;
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (usable_word(line)) unique.insert(line);
    }
    words.assign(unique.begin(), unique.end());
    pools.word_source = c.word_list;
    if (words.empty()) throw Error(c.word_list + ": word list has no usable words (lower-case a-z, 2-12 letters)");
  } else if (c.word_list_required) {
    throw Error(c.word_list +
                ": cannot read the word list (install Debian's wamerican, or set symbols.word_list to "
                "\"\" to use generated pseudo-words)");
  } else {
    const int64_t needed = c.tuning_words + (c.heldout_words < 0 ? 50000 : c.heldout_words);
    words = generated_words(static_cast<size_t>(needed));
    pools.word_source = "generated pseudo-words";
  }
  pools.words_read = static_cast<int64_t>(words.size());
  if (static_cast<int64_t>(words.size()) < c.tuning_words)
    throw Error(pools.word_source + ": " + std::to_string(words.size()) + " usable words, fewer than the " +
                std::to_string(c.tuning_words) + " tuning words asked for");
  Rng rng = Rng::for_stream(c.seed, 0x5359'4D42);  // "SYMB"
  rng.shuffle(words);

  SymbolPool& tuning = pools.tuning;
  for (int64_t i = 0; i < c.tuning_integers; ++i) tuning.integers.push_back(std::to_string(i));
  for (int64_t i = 0; i < c.tuning_letter_strings; ++i) tuning.letter_strings.push_back(spreadsheet_column_name(i));
  tuning.words.assign(words.begin(), words.begin() + c.tuning_words);

  SymbolPool& heldout = pools.heldout;
  for (int64_t i = c.heldout_integer_begin; i < c.heldout_integer_end; ++i)
    heldout.integers.push_back(std::to_string(i));
  for (int64_t i = c.heldout_letter_begin; i < c.heldout_letter_end; ++i)
    heldout.letter_strings.push_back(spreadsheet_column_name(i));
  const int64_t rest = static_cast<int64_t>(words.size()) - c.tuning_words;
  const int64_t take = c.heldout_words < 0 ? rest : std::min(rest, c.heldout_words);
  heldout.words.assign(words.begin() + c.tuning_words, words.begin() + c.tuning_words + take);
  return pools;
}

std::vector<std::string> SymbolPool::draw_distinct(size_t n, Rng& rng) const {
  if (size() < n)
    throw Error("symbol pool: " + std::to_string(n) + " distinct symbols asked for, the pool has " +
                std::to_string(size()));
  std::vector<const std::vector<std::string>*> categories;
  for (const auto* c : {&integers, &letter_strings, &words})
    if (!c->empty()) categories.push_back(c);
  std::vector<std::string> out;
  std::set<std::string> seen;
  while (out.size() < n) {
    const auto& category = *categories[rng.below(categories.size())];
    const std::string& symbol = category[rng.below(category.size())];
    if (seen.insert(symbol).second) out.push_back(symbol);
  }
  return out;
}

std::vector<std::string> SymbolPool::all() const {
  std::vector<std::string> out = integers;
  out.insert(out.end(), letter_strings.begin(), letter_strings.end());
  out.insert(out.end(), words.begin(), words.end());
  return out;
}

}  // namespace symtune

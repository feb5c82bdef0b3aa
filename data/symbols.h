// The symbol pools of symbol tuning (Wei et al. 2023, section 3), as the authors' released
// generator builds them: three categories in each pool,
//   tuning:   integers 0..9,999, the letter strings of 1..10,000 (A, B, ..., Z, AA, AB, ... as
//             spreadsheet columns are named) and 10,000 English words;
//   held-out: integers 10,000..99,999, the letter strings of 10,001..100,000 and the remaining
//             words of the list,
// so evaluation never sees a symbol the model was tuned on. A symbol is drawn by choosing a
// category with equal probability, then a member of it uniformly (a flat draw over a pool would
// give its largest category most labels). Words come from a word list file (Debian's
// wamerican: /usr/share/dict/words); where none is installed, pronounceable pseudo-words are
// generated instead. Which words are tuning words is a seeded shuffle.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/config_table.h"

namespace symtune {

struct SymbolPoolConfig {
  std::string word_list = "/usr/share/dict/words";  // "" = generate pseudo-words
  bool word_list_required = false;        // true when the user named the file: then a missing file is an error
  int64_t tuning_integers = 10000;        // 0 .. n-1
  int64_t tuning_letter_strings = 10000;  // A .. (n-th spreadsheet column name)
  int64_t tuning_words = 10000;
  int64_t heldout_integer_begin = 10000, heldout_integer_end = 100000;  // [begin, end)
  int64_t heldout_letter_begin = 10000, heldout_letter_end = 100000;    // [begin, end) as 0-based indices
  int64_t heldout_words = -1;                                           // -1 = every word not used for tuning
  uint64_t seed = 0;

  void validate(const std::string& where) const;
};

// Keys as the fields above ("word_list" set explicitly makes the file required, resolved
// against base_dir). Unknown keys are errors.
SymbolPoolConfig parse_symbol_pool_config(const nlohmann::json& object, const std::string& where,
                                          const std::filesystem::path& base_dir = {});
const std::vector<FieldDoc>& symbol_pool_config_fields();

class Rng;

// One pool: its three categories.
struct SymbolPool {
  std::vector<std::string> integers, letter_strings, words;

  size_t size() const { return integers.size() + letter_strings.size() + words.size(); }
  // `n` distinct symbols, each drawn as the authors' generator draws: a category with equal
  // probability among the non-empty ones, then a member uniformly; a repeat is drawn again.
  // Throws Error when the pool has fewer than n symbols.
  std::vector<std::string> draw_distinct(size_t n, Rng& rng) const;
  // Every symbol, category after category (tests, statistics).
  std::vector<std::string> all() const;
};

struct SymbolPools {
  SymbolPool tuning, heldout;
  std::string word_source;  // the file read, or "generated pseudo-words"
  int64_t words_read = 0;   // usable words found in the list
};

SymbolPools build_symbol_pools(const SymbolPoolConfig& config);

// "A", ..., "Z", "AA", ... for index 0, 1, ...
std::string spreadsheet_column_name(int64_t index);

}  // namespace symtune

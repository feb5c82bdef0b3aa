// Classification tasks symtune generates itself, for the embedded default run (no files, no
// network): each label is decided by a simple surface property of a short input, so the only
// way to answer with arbitrary symbols is to read the mapping off the exemplars.
//   vowel_start  word starts with a vowel / consonant        length     short / long word
//   has_digit    string with / without a digit              parity     even / odd number
//   compare      first / second of two numbers is larger     repeated   a word repeats / all distinct
//   contains_z   word with / without the letter z           sign       positive / negative number
//   caps         upper / lower case word                     count      one / two / three words
// Deterministic in the seed.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/datasets.h"

namespace symtune {

std::vector<std::string> synthetic_task_names();

// One task with `train_examples` training and `test_examples` test examples.
ClassificationDataset make_synthetic_task(const std::string& name, int64_t train_examples, int64_t test_examples,
                                          uint64_t seed);

}  // namespace symtune

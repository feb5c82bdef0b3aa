// Prompt construction for symbol tuning and instruction tuning (Wei et al. 2023, section 3).
//
// An in-context prompt: k exemplars per class (drawn afresh, shuffled), then a query, laid out
// in one of several input/output formats, with no instruction. Each label is shown as a
// string chosen per prompt:
//   kSymbols  - a fresh one-to-one mapping from labels to symbols of the given pool;
//   kNatural  - the dataset's own label names;
//   kFlipped  - the label names permuted with no label left in place (flipped-label ICL): the
//               target and a share (flip_fraction) of the exemplars carry the permuted names,
//               the other exemplars their own; with no exemplar flipped the target is natural.
// The target is the query's label string. An instruction naming the task and the label
// strings can be prepended (the evaluation settings of the paper).
//
// An instruction-tuning example: FLAN-style template applied to a classification example
// (natural labels, with the instruction), or an (input, target) pair from instruction data.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/datasets.h"
#include "data/rng.h"
#include "data/symbols.h"

namespace symtune {

// A text example before tokenization. Exemplars may be dropped (from the front) to fit a
// token budget; the prefix and the query never are.
struct TextExample {
  std::string kind;    // "symbol", "natural", "flipped" or "instruction"
  std::string source;  // dataset or file it came from
  std::string prefix;  // instruction, "" when none
  std::vector<std::string> exemplars;
  std::vector<int32_t> exemplar_labels;  // the label of each exemplar (classification prompts; else empty)
  std::string query;                     // the input the target answers, ending with the output prefix or a newline
  std::string target;                    // what the model must produce (loss goes here only)
  // For classification prompts: the string shown for each label id, and the query's label.
  std::vector<std::string> label_strings;
  int32_t query_label = -1;
  int32_t layout = -1;

  // The model input with the last `keep` exemplars (all by default).
  std::string input(size_t keep = SIZE_MAX) const;
  // The model input with the exemplars whose `kept` entry is true.
  std::string input(const std::vector<bool>& kept) const;
};

enum class LabelMode { kSymbols, kNatural, kFlipped };

struct IclOptions {
  int64_t k_min = 2, k_max = 10;  // exemplars per class, drawn uniformly in [k_min, k_max]
  LabelMode labels = LabelMode::kSymbols;
  bool with_instruction = false;
  bool query_from_test = false;  // evaluation: the query comes from the test split
  double flip_fraction = 1.0;    // kFlipped: share of exemplars shown with the permuted names
};

// Number of input/output layouts a prompt is drawn from.
int32_t num_prompt_layouts();

// Throws Error naming the dataset when it cannot make such prompts: one class only, or a class
// with fewer than k_min + 1 training examples (k_min exemplars plus a query).
void check_icl_ready(const ClassificationDataset& dataset, const IclOptions& options);

// `symbols` is the pool for kSymbols (ignored otherwise). k is lowered for a prompt when a
// class has fewer than k + 1 training examples.
TextExample build_icl_prompt(const ClassificationDataset& dataset, const SymbolPool& symbols, const IclOptions& options,
                             Rng& rng);

// A classification example as an instruction: the dataset's FLAN templates when there are some
// (see flan_task_for), else a generic instruction listing the options. Natural labels.
TextExample build_flan_example(const ClassificationDataset& dataset, const FlanTemplates& templates, Rng& rng);

// The FLAN task whose templates fit `dataset_name`, or "" when none does.
std::string flan_task_for(const std::string& dataset_name);

TextExample build_instruction_example(const InstructionExample& example, const std::string& source);

}  // namespace symtune

// The training example stream before tokenization: a mixture of symbol-tuning prompts and
// instruction-tuning examples (the ratio the paper ablates), over datasets weighted uniformly,
// by size, or by size capped (the paper caps each dataset at 25k examples).
// Example (row, slot) is a pure function of (seed, row, slot): any rank can make any part of
// the stream, in any order, and get the same text.
// The mixture is drawn per row: row r is symbol tuning with probability symbol_fraction, and
// its source is drawn by the weights; all examples of the row come from that source. So the
// ratio and the weights hold for rows, that is for training tokens, exactly in expectation,
// whatever packing does. (Drawn per example, packing's preference for examples that fit the
// leftover space of a row skews them: long symbol prompts lose out to short instructions;
// measured on the shared data, 84% asked gave 66% of examples.)
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "data/datasets.h"
#include "data/prompts.h"
#include "data/symbols.h"

namespace symtune {

class ExampleSource {
 public:
  // Loads every dataset the config names (tuning ones only), the instruction files and the
  // symbol pools; checks each tuning dataset can make prompts.
  explicit ExampleSource(const DataConfig& config);

  TextExample example(uint64_t row, uint64_t slot) const;

  const DataConfig& config() const { return config_; }
  const std::vector<ClassificationDataset>& datasets() const { return datasets_; }
  const SymbolPools& pools() const { return pools_; }
  // Sampling weights, for reports: (source, weight, examples available).
  struct SourceInfo {
    std::string name;
    double weight;
    int64_t examples;
  };
  std::vector<SourceInfo> symbol_sources() const;
  std::vector<SourceInfo> instruction_sources() const;

 private:
  struct InstructionSource {
    std::string name;
    std::vector<InstructionExample> examples;  // empty for a classification dataset via templates
    int32_t dataset = -1;                      // index into datasets_ when templated
  };
  int64_t weight_of(int64_t size) const;
  static size_t pick(const std::vector<double>& cumulative, double u);

  DataConfig config_;
  std::vector<ClassificationDataset> datasets_;
  std::vector<InstructionSource> instruction_sources_;
  FlanTemplates flan_;
  SymbolPools pools_;
  std::vector<double> symbol_cumulative_, instruction_cumulative_;  // normalised cumulative weights
};

// The names of the dataset folders under `dir` (those holding a dataset.json), sorted; for
// "builtin:synthetic", the generated tasks.
std::vector<std::string> list_classification_datasets(const std::string& dir);

// One dataset by name from config.classification_dir (a folder or "builtin:synthetic").
ClassificationDataset load_dataset(const DataConfig& config, const std::string& name);

}  // namespace symtune

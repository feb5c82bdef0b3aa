// The "data" section of a run config: which datasets, the symbol/instruction mixture, the
// symbol pools, and the shapes of the token rows. Every key is documented here and checked
// when read; an unknown key is an error naming the nearest valid one.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/config_table.h"
#include "data/symbols.h"

namespace symtune {

enum class DatasetWeighting { kUniform, kProportional, kProportionalCapped };

struct DataConfig {
  // Folder of classification datasets (one sub-folder each, see data/datasets.h), or
  // "builtin:synthetic" for the tasks symtune generates itself (data/synthetic_tasks.h).
  std::string classification_dir;
  std::vector<std::string> tuning_datasets;    // empty = every dataset in the folder not held out
  std::vector<std::string> held_out_datasets;  // never used for tuning (evaluation tasks)
  int64_t max_examples_per_dataset = 0;        // lines read per split; 0 = all
  DatasetWeighting weighting = DatasetWeighting::kProportionalCapped;
  int64_t weight_cap_examples = 25000;  // proportional_capped: weight = min(size, cap) (paper: 25k)
  double symbol_fraction = 1.0;         // share of rows (tokens) of symbol tuning; the rest instruction tuning
  int64_t exemplars_min = 2, exemplars_max = 10;  // per class, per prompt
  std::vector<std::string> instruction_files;     // {"input", "target"} JSONL
  std::string flan_templates;                     // FLAN templates JSON; "" = generic instructions only
  bool instruction_from_classification = true;    // classification datasets as instruction examples too
  SymbolPoolConfig symbols;
  int64_t max_input_tokens = 2048;  // BOS + prompt (paper: 2048)
  int64_t max_target_tokens = 512;  // target + EOS (paper: 512)
  bool pack = true;                 // several examples per row (row = input + target budget)
  int64_t pack_fill_attempts = 8;   // examples tried for a row's leftover space before padding it
  int64_t rows_per_batch = 32;      // global batch, in rows (paper: 32)
  uint64_t seed = 0;
  std::string tokenizer;             // tokenizer.model, "bytes", or "" = the model's
  bool use_heldout_symbols = false;  // set by evaluation: prompts draw from the held-out pool

  int64_t row_tokens() const { return max_input_tokens + max_target_tokens; }
  void validate(const std::string& where) const;
};

// `base_dir`: relative paths are resolved against it (the config file's folder). Paths may use
// ${VAR} and ${VAR:-default} for environment variables.
DataConfig parse_data_config(const nlohmann::json& object, const std::string& where,
                             const std::filesystem::path& base_dir);
// The keys of the data section as docs/config-reference.md lists them.
const std::vector<FieldDoc>& data_config_fields();

// The data of held-out evaluation during training: the held-out datasets as the only tasks, all
// symbol tuning with symbols from the held-out pool, no instruction data, a seed of its own.
DataConfig held_out_data_config(const DataConfig& training);

}  // namespace symtune

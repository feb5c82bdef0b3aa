#include "data/data_config.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_keys.h"
#include "common/json_values.h"

namespace symtune {
namespace fs = std::filesystem;

std::string resolve_path(const std::string& path, const fs::path& base_dir, const std::string& where) {
  if (path.empty()) return path;
  std::string out;
  for (size_t i = 0; i < path.size();) {
    if (path.compare(i, 2, "${") == 0) {
      const size_t close = path.find('}', i);
      if (close == std::string::npos) throw Error(where + ": unterminated ${ in path '" + path + "'");
      std::string inner = path.substr(i + 2, close - i - 2), fallback;
      bool has_fallback = false;
      if (const size_t sep = inner.find(":-"); sep != std::string::npos) {
        fallback = inner.substr(sep + 2);
        inner = inner.substr(0, sep);
        has_fallback = true;
      }
      const char* value = std::getenv(inner.c_str());
      if (value != nullptr && *value != '\0') out += value;
      else if (has_fallback) out += fallback;
      else throw Error(where + ": path '" + path + "' uses $" + inner + ", which is not set");
      i = close + 1;
    } else {
      out += path[i++];
    }
  }
  fs::path p(out);
  return (p.is_absolute() ? p : base_dir / p).lexically_normal().string();
}

void DataConfig::validate(const std::string& where) const {
  if (classification_dir.empty() && instruction_files.empty())
    throw Error(where + ": set 'classification_dir' or 'instruction_files': there is nothing to train on");
  if (!(symbol_fraction >= 0.0 && symbol_fraction <= 1.0))
    throw Error(where + ": 'symbol_fraction' must be in [0, 1], found " + std::to_string(symbol_fraction));
  if (symbol_fraction > 0 && classification_dir.empty())
    throw Error(where + ": 'symbol_fraction' > 0 needs 'classification_dir'");
  if (symbol_fraction < 1 && instruction_files.empty() && !instruction_from_classification)
    throw Error(where +
                ": 'symbol_fraction' < 1 needs instruction data ('instruction_files' or "
                "'instruction_from_classification')");
  if (exemplars_min < 1 || exemplars_max < exemplars_min)
    throw Error(where + ": 'exemplars_per_class' must be [min, max] with 1 <= min <= max");
  if (max_input_tokens < 8 || max_target_tokens < 2)
    throw Error(where + ": 'max_input_tokens' must be >= 8 and 'max_target_tokens' >= 2");
  if (rows_per_batch < 1) throw Error(where + ": 'rows_per_batch' must be >= 1");
  if (weight_cap_examples < 1) throw Error(where + ": 'weight_cap_examples' must be >= 1");
  if (pack_fill_attempts < 0) throw Error(where + ": 'pack_fill_attempts' must be >= 0");
  for (const auto& t : tuning_datasets)
    for (const auto& h : held_out_datasets)
      if (t == h) throw Error(where + ": dataset '" + t + "' is both in 'tuning_datasets' and 'held_out_datasets'");
  symbols.validate(where + ".symbols");
}

DataConfig parse_data_config(const nlohmann::json& j, const std::string& where, const fs::path& base_dir) {
  require_known_keys(j,
                     {"classification_dir", "tuning_datasets", "held_out_datasets", "max_examples_per_dataset",
                      "weighting", "weight_cap_examples", "symbol_fraction", "exemplars_per_class", "instruction_files",
                      "flan_templates", "instruction_from_classification", "symbols", "max_input_tokens",
                      "max_target_tokens", "pack", "pack_fill_attempts", "rows_per_batch", "seed", "tokenizer"},
                     where);
  DataConfig c;
  auto path = [&](const char* key, std::string& out) {
    std::string value;
    read_value(j, key, value, where);
    if (!value.empty()) out = resolve_path(value, base_dir, where + "." + key);
  };
  if (j.contains("classification_dir") && j["classification_dir"] == "builtin:synthetic")
    c.classification_dir = "builtin:synthetic";
  else path("classification_dir", c.classification_dir);
  path("flan_templates", c.flan_templates);
  if (j.contains("tokenizer") && j["tokenizer"] == "bytes") c.tokenizer = "bytes";
  else path("tokenizer", c.tokenizer);
  read_value(j, "tuning_datasets", c.tuning_datasets, where);
  read_value(j, "held_out_datasets", c.held_out_datasets, where);
  std::vector<std::string> instruction_files;
  read_value(j, "instruction_files", instruction_files, where);
  for (const auto& f : instruction_files)
    c.instruction_files.push_back(resolve_path(f, base_dir, where + ".instruction_files"));
  read_value(j, "max_examples_per_dataset", c.max_examples_per_dataset, where);
  read_choice(j, "weighting", c.weighting,
              {{"uniform", DatasetWeighting::kUniform},
               {"proportional", DatasetWeighting::kProportional},
               {"proportional_capped", DatasetWeighting::kProportionalCapped}},
              where);
  read_value(j, "weight_cap_examples", c.weight_cap_examples, where);
  read_value(j, "symbol_fraction", c.symbol_fraction, where);
  if (j.contains("exemplars_per_class")) {
    std::vector<int64_t> k;
    read_value(j, "exemplars_per_class", k, where);
    if (k.size() != 2) throw Error(where + ": 'exemplars_per_class' must be [min, max]");
    c.exemplars_min = k[0];
    c.exemplars_max = k[1];
  }
  read_value(j, "instruction_from_classification", c.instruction_from_classification, where);
  if (j.contains("symbols")) {
    c.symbols = parse_symbol_pool_config(j["symbols"], where + ".symbols");
    if (c.symbols.word_list_required)
      c.symbols.word_list = resolve_path(c.symbols.word_list, base_dir, where + ".symbols.word_list");
  }
  read_value(j, "max_input_tokens", c.max_input_tokens, where);
  read_value(j, "max_target_tokens", c.max_target_tokens, where);
  read_value(j, "pack", c.pack, where);
  read_value(j, "pack_fill_attempts", c.pack_fill_attempts, where);
  read_value(j, "rows_per_batch", c.rows_per_batch, where);
  read_value(j, "seed", c.seed, where);
  c.validate(where);
  return c;
}

}  // namespace symtune

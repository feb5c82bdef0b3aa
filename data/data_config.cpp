#include "data/data_config.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_keys.h"

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
    throw Error(where + ": 'symbol_fraction' < 1 needs instruction data ('instruction_files' or "
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
                      "weighting", "weight_cap_examples", "symbol_fraction", "exemplars_per_class",
                      "instruction_files", "flan_templates", "instruction_from_classification", "symbols",
                      "max_input_tokens", "max_target_tokens", "pack", "pack_fill_attempts", "rows_per_batch", "seed",
                      "tokenizer"},
                     where);
  DataConfig c;
  try {
    auto path = [&](const char* key, std::string& out) {
      if (j.contains(key)) out = resolve_path(j[key].get<std::string>(), base_dir, where + "." + key);
    };
    if (j.contains("classification_dir") && j["classification_dir"] == "builtin:synthetic")
      c.classification_dir = "builtin:synthetic";
    else path("classification_dir", c.classification_dir);
    path("flan_templates", c.flan_templates);
    if (j.contains("tokenizer") && j["tokenizer"] == "bytes") c.tokenizer = "bytes";
    else path("tokenizer", c.tokenizer);
    if (j.contains("tuning_datasets")) c.tuning_datasets = j["tuning_datasets"].get<std::vector<std::string>>();
    if (j.contains("held_out_datasets")) c.held_out_datasets = j["held_out_datasets"].get<std::vector<std::string>>();
    if (j.contains("instruction_files"))
      for (const auto& f : j["instruction_files"].get<std::vector<std::string>>())
        c.instruction_files.push_back(resolve_path(f, base_dir, where + ".instruction_files"));
    if (j.contains("max_examples_per_dataset")) c.max_examples_per_dataset = j["max_examples_per_dataset"].get<int64_t>();
    if (j.contains("weighting")) {
      const std::string w = j["weighting"].get<std::string>();
      if (w == "uniform") c.weighting = DatasetWeighting::kUniform;
      else if (w == "proportional") c.weighting = DatasetWeighting::kProportional;
      else if (w == "proportional_capped") c.weighting = DatasetWeighting::kProportionalCapped;
      else throw Error(where + ": 'weighting' must be uniform, proportional or proportional_capped, found \"" + w + "\"");
    }
    if (j.contains("weight_cap_examples")) c.weight_cap_examples = j["weight_cap_examples"].get<int64_t>();
    if (j.contains("symbol_fraction")) c.symbol_fraction = j["symbol_fraction"].get<double>();
    if (j.contains("exemplars_per_class")) {
      const auto k = j["exemplars_per_class"].get<std::vector<int64_t>>();
      if (k.size() != 2) throw Error(where + ": 'exemplars_per_class' must be [min, max]");
      c.exemplars_min = k[0];
      c.exemplars_max = k[1];
    }
    if (j.contains("instruction_from_classification"))
      c.instruction_from_classification = j["instruction_from_classification"].get<bool>();
    if (j.contains("symbols")) {
      c.symbols = parse_symbol_pool_config(j["symbols"], where + ".symbols");
      if (c.symbols.word_list_required)
        c.symbols.word_list = resolve_path(c.symbols.word_list, base_dir, where + ".symbols.word_list");
    }
    if (j.contains("max_input_tokens")) c.max_input_tokens = j["max_input_tokens"].get<int64_t>();
    if (j.contains("max_target_tokens")) c.max_target_tokens = j["max_target_tokens"].get<int64_t>();
    if (j.contains("pack")) c.pack = j["pack"].get<bool>();
    if (j.contains("pack_fill_attempts")) c.pack_fill_attempts = j["pack_fill_attempts"].get<int64_t>();
    if (j.contains("rows_per_batch")) c.rows_per_batch = j["rows_per_batch"].get<int64_t>();
    if (j.contains("seed")) c.seed = j["seed"].get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": wrong value type: " + e.what());
  }
  c.validate(where);
  return c;
}

}  // namespace symtune

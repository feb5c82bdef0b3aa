#include "data/data_config.h"

#include <nlohmann/json.hpp>

#include "common/config_table.h"
#include "common/error.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

// Checks between fields; each field's own range is checked when it is read (data_table()).
void DataConfig::validate(const std::string& where) const {
  if (classification_dir.empty() && instruction_files.empty())
    throw Error(where + ": set 'classification_dir' or 'instruction_files': there is nothing to train on");
  if (symbol_fraction > 0 && classification_dir.empty())
    throw Error(where + ": 'symbol_fraction' > 0 needs 'classification_dir'");
  if (symbol_fraction < 1 && instruction_files.empty() && !instruction_from_classification)
    throw Error(where +
                ": 'symbol_fraction' < 1 needs instruction data ('instruction_files' or "
                "'instruction_from_classification')");
  for (const auto& t : tuning_datasets)
    for (const auto& h : held_out_datasets)
      if (t == h) throw Error(where + ": dataset '" + t + "' is both in 'tuning_datasets' and 'held_out_datasets'");
  symbols.validate(where + ".symbols");
}

namespace {

void read_exemplars_per_class(const json& j, DataConfig& c, const FieldContext& ctx) {
  std::vector<int64_t> k;
  if (!read_value(j, "exemplars_per_class", k, ctx.where)) return;
  if (k.size() != 2 || k[0] < 1 || k[1] < k[0] || k[1] > 64)
    throw Error(ctx.where + ": 'exemplars_per_class' must be [min, max] with 1 <= min <= max <= 64, found " +
                j["exemplars_per_class"].dump());
  c.exemplars_min = k[0];
  c.exemplars_max = k[1];
}

// Upper bounds keep a typo from turning into an allocation that cannot succeed.
constexpr int64_t kMaxRowTokens = int64_t(1) << 20;

const ConfigTable<DataConfig>& data_table() {
  using D = DataConfig;
  static const ConfigTable<DataConfig> table =
      ConfigTable<DataConfig>()
          .custom({"classification_dir", "path", "\"\"", "a folder, or \"builtin:synthetic\"",
                   "classification datasets, one sub-folder each (data/datasets.h), or the tasks symtune generates"},
                  [](const json& j, D& c, const FieldContext& ctx) {
                    if (j.contains("classification_dir") && j["classification_dir"] == "builtin:synthetic")
                      c.classification_dir = "builtin:synthetic";
                    else read_path(j, "classification_dir", c.classification_dir, ctx);
                  })
          .texts("tuning_datasets", &D::tuning_datasets, "datasets to tune on; [] = every one not held out")
          .texts("held_out_datasets", &D::held_out_datasets, "never tuned on (evaluation tasks)")
          .integer("max_examples_per_dataset", &D::max_examples_per_dataset, {0, kMaxConfigCount},
                   "lines read per split; 0 = all")
          .choice("weighting", &D::weighting,
                  {{"uniform", DatasetWeighting::kUniform},
                   {"proportional", DatasetWeighting::kProportional},
                   {"proportional_capped", DatasetWeighting::kProportionalCapped}},
                  "how datasets are weighted in the mixture")
          .integer("weight_cap_examples", &D::weight_cap_examples, {1, kMaxConfigCount},
                   "proportional_capped: weight = min(examples, cap) (paper: 25k)")
          .number("symbol_fraction", &D::symbol_fraction, {0.0, 1.0},
                  "share of rows (tokens) that are symbol tuning; the rest instruction tuning")
          .custom({"exemplars_per_class", "[min, max]", "[2, 10]", "1 <= min <= max <= 64",
                   "in-context exemplars per class and prompt, drawn uniformly (paper: 2-10)"},
                  read_exemplars_per_class)
          .custom({"instruction_files", "list of paths", "[]", "relative to the config file; ${VAR} expanded",
                   "instruction JSONL ({\"input\", \"target\"} per line)"},
                  [](const json& j, D& c, const FieldContext& ctx) {
                    std::vector<std::string> files;
                    read_value(j, "instruction_files", files, ctx.where);
                    for (const auto& f : files)
                      c.instruction_files.push_back(resolve_path(f, ctx.base_dir, ctx.where + ".instruction_files"));
                  })
          .path("flan_templates", &D::flan_templates, "FLAN templates JSON; \"\" = generic instructions only")
          .flag("instruction_from_classification", &D::instruction_from_classification,
                "classification datasets as instruction examples too (natural labels)")
          .custom({"symbols", "object", "{}", "see the data.symbols table", "symbol pools"},
                  [](const json& j, D& c, const FieldContext& ctx) {
                    if (j.contains("symbols"))
                      c.symbols = parse_symbol_pool_config(j["symbols"], ctx.where + ".symbols", ctx.base_dir);
                  })
          .integer("max_input_tokens", &D::max_input_tokens, {8, kMaxRowTokens}, "BOS + prompt tokens (paper: 2048)")
          .integer("max_target_tokens", &D::max_target_tokens, {2, kMaxRowTokens}, "target + EOS tokens (paper: 512)")
          .flag("pack", &D::pack, "several examples per row (a row = input + target budget)")
          .integer("pack_fill_attempts", &D::pack_fill_attempts, {0, 1000},
                   "examples tried for a row's leftover space before it is padded")
          .integer("rows_per_batch", &D::rows_per_batch, {1, 1 << 20}, "global batch in rows (paper: 32)")
          .seed("seed", &D::seed, "seed of every draw of the data stream")
          .custom({"tokenizer", "path", "\"\"",
                   "a SentencePiece tokenizer.model, a folder holding a tokenizer, \"bytes\", or \"\"",
                   "\"\" = the model's own tokenizer"},
                  [](const json& j, D& c, const FieldContext& ctx) {
                    if (j.contains("tokenizer") && j["tokenizer"] == "bytes") c.tokenizer = "bytes";
                    else read_path(j, "tokenizer", c.tokenizer, ctx);
                  });
  return table;
}

}  // namespace

const std::vector<FieldDoc>& data_config_fields() { return data_table().docs(); }

DataConfig parse_data_config(const json& j, const std::string& where, const fs::path& base_dir) {
  DataConfig c;
  data_table().read(j, c, {where, base_dir});
  c.validate(where);
  return c;
}

DataConfig held_out_data_config(const DataConfig& training) {
  DataConfig held_out = training;
  held_out.tuning_datasets = training.held_out_datasets;
  held_out.held_out_datasets.clear();
  held_out.symbol_fraction = 1.0;
  held_out.use_heldout_symbols = true;
  held_out.instruction_files.clear();
  held_out.instruction_from_classification = false;
  held_out.seed = training.seed + 1;  // a stream of its own, not the training stream's rows
  return held_out;
}

}  // namespace symtune

#include "data/mixture.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"
#include "data/rng.h"
#include "data/synthetic_tasks.h"

namespace symtune {
namespace fs = std::filesystem;

std::vector<std::string> list_classification_datasets(const std::string& dir) {
  if (dir == "builtin:synthetic") return synthetic_task_names();
  std::vector<std::string> names;
  for (const auto& name : list_directory(dir))
    if (fs::exists(fs::path(dir) / name / "dataset.json")) names.push_back(name);
  if (names.empty()) throw Error(dir + ": no classification datasets (sub-folders with dataset.json)");
  return names;
}

ClassificationDataset load_dataset(const DataConfig& config, const std::string& name) {
  if (config.classification_dir == "builtin:synthetic") {
    const int64_t n = config.max_examples_per_dataset > 0 ? config.max_examples_per_dataset : 2000;
    return make_synthetic_task(name, n, std::max<int64_t>(n / 4, 100), config.seed);
  }
  const fs::path dir = fs::path(config.classification_dir) / name;
  if (!fs::exists(dir)) throw Error(config.classification_dir + ": dataset '" + name + "' not found");
  return load_classification_dataset(dir, config.max_examples_per_dataset);
}

int64_t ExampleSource::weight_of(int64_t size) const {
  switch (config_.weighting) {
    case DatasetWeighting::kUniform:
      return 1;
    case DatasetWeighting::kProportional:
      return size;
    case DatasetWeighting::kProportionalCapped:
      return std::min(size, config_.weight_cap_examples);
  }
  return 1;
}

size_t ExampleSource::pick(const std::vector<double>& cumulative, double u) {
  return std::min<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin(),
                          cumulative.size() - 1);
}

namespace {
std::vector<double> normalised_cumulative(const std::vector<double>& weights) {
  std::vector<double> c;
  double total = 0;
  for (double w : weights) total += w;
  double running = 0;
  for (double w : weights) c.push_back((running += w) / total);
  return c;
}
}  // namespace

ExampleSource::ExampleSource(const DataConfig& config) : config_(config) {
  if (!config_.classification_dir.empty()) {
    std::vector<std::string> names = config_.tuning_datasets;
    if (names.empty())
      for (const auto& n : list_classification_datasets(config_.classification_dir))
        if (std::find(config_.held_out_datasets.begin(), config_.held_out_datasets.end(), n) ==
            config_.held_out_datasets.end())
          names.push_back(n);
    IclOptions icl;
    icl.k_min = config_.exemplars_min;
    icl.k_max = config_.exemplars_max;
    for (const auto& n : names) {
      datasets_.push_back(load_dataset(config_, n));
      if (datasets_.back().train.empty()) throw Error("dataset '" + n + "': no training examples (train.jsonl)");
      if (config_.symbol_fraction > 0) check_icl_ready(datasets_.back(), icl);
    }
  }
  if (!config_.flan_templates.empty()) flan_ = load_flan_templates(config_.flan_templates);
  for (const auto& f : config_.instruction_files)
    instruction_sources_.push_back({fs::path(f).filename().string(), load_instruction_jsonl(f), -1});
  if (config_.instruction_from_classification)
    for (size_t i = 0; i < datasets_.size(); ++i)
      instruction_sources_.push_back({"flan:" + datasets_[i].name, {}, static_cast<int32_t>(i)});
  if (config_.symbol_fraction > 0 || !datasets_.empty()) pools_ = build_symbol_pools(config_.symbols);

  std::vector<double> w;
  for (const auto& d : datasets_) w.push_back(static_cast<double>(weight_of(static_cast<int64_t>(d.train.size()))));
  if (!w.empty()) symbol_cumulative_ = normalised_cumulative(w);
  w.clear();
  for (const auto& s : instruction_sources_)
    w.push_back(static_cast<double>(weight_of(s.dataset >= 0 ? static_cast<int64_t>(datasets_[s.dataset].train.size())
                                                             : static_cast<int64_t>(s.examples.size()))));
  if (!w.empty()) instruction_cumulative_ = normalised_cumulative(w);
  if (config_.symbol_fraction > 0 && symbol_cumulative_.empty())
    throw Error("data: symbol_fraction > 0 but no classification datasets to tune on");
  if (config_.symbol_fraction < 1 && instruction_cumulative_.empty())
    throw Error("data: symbol_fraction < 1 but no instruction sources");
}

TextExample ExampleSource::example(uint64_t row, uint64_t slot) const {
  // The row decides the kind and the source; the slot decides the example. Rows are
  // homogeneous so that packing, which must prefer examples that fit the space left, can only
  // bias which examples of one source fill a row, never the mixture itself.
  Rng row_rng = Rng::for_stream(config_.seed, row, ~uint64_t(0));
  const bool symbol = row_rng.uniform() < config_.symbol_fraction;
  const double source_draw = row_rng.uniform();
  Rng rng = Rng::for_stream(config_.seed, row, slot);
  if (symbol) {
    const ClassificationDataset& d = datasets_[pick(symbol_cumulative_, source_draw)];
    IclOptions icl;
    icl.k_min = config_.exemplars_min;
    icl.k_max = config_.exemplars_max;
    return build_icl_prompt(d, config_.use_heldout_symbols ? pools_.heldout : pools_.tuning, icl, rng);
  }
  const InstructionSource& s = instruction_sources_[pick(instruction_cumulative_, source_draw)];
  if (s.dataset >= 0) return build_flan_example(datasets_[s.dataset], flan_, rng);
  return build_instruction_example(s.examples[rng.below(s.examples.size())], s.name);
}

std::vector<ExampleSource::SourceInfo> ExampleSource::symbol_sources() const {
  std::vector<SourceInfo> out;
  for (size_t i = 0; i < datasets_.size(); ++i)
    out.push_back({datasets_[i].name, symbol_cumulative_[i] - (i ? symbol_cumulative_[i - 1] : 0.0),
                   static_cast<int64_t>(datasets_[i].train.size())});
  return out;
}

std::vector<ExampleSource::SourceInfo> ExampleSource::instruction_sources() const {
  std::vector<SourceInfo> out;
  for (size_t i = 0; i < instruction_sources_.size(); ++i) {
    const auto& s = instruction_sources_[i];
    out.push_back({s.name, instruction_cumulative_[i] - (i ? instruction_cumulative_[i - 1] : 0.0),
                   s.dataset >= 0 ? static_cast<int64_t>(datasets_[s.dataset].train.size())
                                  : static_cast<int64_t>(s.examples.size())});
  }
  return out;
}

}  // namespace symtune

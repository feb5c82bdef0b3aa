#include "data/prompts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"

namespace symtune {

namespace {

struct Layout {
  const char* input_prefix;
  const char* joiner;  // between the input and the output prefix
  const char* output_prefix;
};

// Formats in the spirit of the paper's (Figure 3 and appendix): an exemplar is
// input_prefix + input + joiner + output_prefix + " " + label.
constexpr Layout kLayouts[] = {
    {"Input: ", "\n", "Output:"},
    {"Q: ", "\n", "A:"},
    {"Student: ", "\n", "Teacher:"},
    {"X = ", "\n", "Y ="},
    {"", " ", "->"},
    {"Question: ", "\n", "Answer:"},
    {"Text: ", "\n", "Label:"},
    {"Example: ", "\n", "Category:"},
    {"Source: ", "\n", "Target:"},
    {"Sentence: ", "\n", "Class:"},
    {"Problem: ", "\n", "Solution:"},
    {"Prompt: ", "\n", "Response:"},
};
constexpr const char* kExemplarSeparator = "\n\n";

std::string input_of(const ClassificationDataset& d, const LabelledExample& e) {
  return d.is_pair() ? e.text + "\n" + e.text2 : e.text;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// k distinct draws from [0, n), k small.
std::vector<int32_t> distinct_draws(size_t n, size_t k, Rng& rng, const std::set<int32_t>& excluded = {}) {
  std::set<int32_t> chosen;
  std::vector<int32_t> out;
  while (out.size() < k) {
    const int32_t i = static_cast<int32_t>(rng.below(n));
    if (excluded.count(i) || !chosen.insert(i).second) continue;
    out.push_back(i);
  }
  return out;
}

// A permutation of 0..n-1 with no fixed point (n >= 2), by rejection: each try succeeds with
// probability about 1/e.
std::vector<int32_t> derangement(size_t n, Rng& rng) {
  std::vector<int32_t> p(n);
  for (;;) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<int32_t>(i);
    rng.shuffle(p);
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) ok = p[i] != static_cast<int32_t>(i);
    if (ok) return p;
  }
}

// Which exemplars show the prompt's own label strings: all of them, except in flipped-label
// prompts with a flip fraction below 1, where exactly round(fraction * count) drawn ones do
// (no draw at all at fraction 1, so full flips draw as they always have).
std::vector<bool> flipped_exemplars(const IclOptions& o, size_t count, Rng& rng) {
  if (o.labels != LabelMode::kFlipped || o.flip_fraction >= 1) return std::vector<bool>(count, true);
  std::vector<bool> flipped(count, false);
  const auto k = static_cast<size_t>(std::llround(std::max(0.0, o.flip_fraction) * static_cast<double>(count)));
  for (int32_t i : distinct_draws(count, k, rng)) flipped[static_cast<size_t>(i)] = true;
  return flipped;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

std::string TextExample::input(size_t keep) const {
  keep = std::min(keep, exemplars.size());
  std::string out = prefix;
  for (size_t i = exemplars.size() - keep; i < exemplars.size(); ++i) out += exemplars[i] + kExemplarSeparator;
  return out + query;
}

std::string TextExample::input(const std::vector<bool>& kept) const {
  std::string out = prefix;
  for (size_t i = 0; i < exemplars.size(); ++i)
    if (i < kept.size() && kept[i]) out += exemplars[i] + kExemplarSeparator;
  return out + query;
}

int32_t num_prompt_layouts() { return static_cast<int32_t>(std::size(kLayouts)); }

void check_icl_ready(const ClassificationDataset& d, const IclOptions& o) {
  if (o.k_min < 1 || o.k_max < o.k_min)
    throw Error("exemplars per class must satisfy 1 <= k_min <= k_max, found [" + std::to_string(o.k_min) + ", " +
                std::to_string(o.k_max) + "]");
  if (d.labels.size() < 2)
    throw Error("dataset '" + d.name + "': only one class ('" + d.labels.at(0) +
                "'); in-context classification needs at least two");
  const auto by_label = d.indices_by_label(d.train);
  for (size_t l = 0; l < by_label.size(); ++l)
    if (static_cast<int64_t>(by_label[l].size()) < o.k_min + 1)
      throw Error("dataset '" + d.name + "': class '" + d.labels[l] + "' has " + std::to_string(by_label[l].size()) +
                  " training example(s); prompts need at least k_min + 1 = " + std::to_string(o.k_min + 1));
  if (o.query_from_test && d.test.empty())
    throw Error("dataset '" + d.name + "': no test split for evaluation queries");
}

TextExample build_icl_prompt(const ClassificationDataset& d, const SymbolPool& symbols, const IclOptions& o, Rng& rng) {
  std::vector<std::vector<int32_t>> computed;  // only for datasets built by hand, without the loader's index
  if (d.train_by_label.size() != d.labels.size()) computed = d.indices_by_label(d.train);
  const auto& by_label = computed.empty() ? d.train_by_label : computed;
  size_t smallest = SIZE_MAX;
  for (const auto& v : by_label) smallest = std::min(smallest, v.size());
  // Query: uniform over the split; with a training query its own exemplar draw excludes it.
  const std::vector<LabelledExample>& query_split = o.query_from_test ? d.test : d.train;
  const int32_t query_index = static_cast<int32_t>(rng.below(query_split.size()));
  const LabelledExample& query = query_split[query_index];
  const int64_t k_drawn = rng.between(o.k_min, o.k_max);
  const int64_t k = std::min<int64_t>(k_drawn, static_cast<int64_t>(smallest) - (o.query_from_test ? 0 : 1));
  if (k < 1) throw Error("dataset '" + d.name + "': too few training examples per class for a prompt");

  std::vector<std::pair<int32_t, int32_t>> exemplars;  // (label, train index)
  for (size_t l = 0; l < by_label.size(); ++l) {
    std::set<int32_t> excluded;
    if (!o.query_from_test && query.label == static_cast<int32_t>(l)) {
      // Exclude the query itself from its class's exemplars (positions within by_label[l]).
      auto pos = std::find(by_label[l].begin(), by_label[l].end(), query_index);
      excluded.insert(static_cast<int32_t>(pos - by_label[l].begin()));
    }
    for (int32_t pick : distinct_draws(by_label[l].size(), static_cast<size_t>(k), rng, excluded))
      exemplars.emplace_back(static_cast<int32_t>(l), by_label[l][pick]);
  }
  rng.shuffle(exemplars);

  TextExample ex;
  ex.source = d.name;
  const size_t n = d.labels.size();
  switch (o.labels) {
    case LabelMode::kSymbols: {
      if (symbols.size() < n) throw Error("symbol pool has fewer symbols than dataset '" + d.name + "' has labels");
      ex.label_strings = symbols.draw_distinct(n, rng);
      ex.kind = "symbol";
      break;
    }
    case LabelMode::kNatural:
      ex.label_strings = d.labels;
      ex.kind = "natural";
      break;
    case LabelMode::kFlipped: {
      for (int32_t i : derangement(n, rng)) ex.label_strings.push_back(d.labels[i]);
      ex.kind = "flipped";
      break;
    }
  }
  const std::vector<bool> flipped = flipped_exemplars(o, exemplars.size(), rng);
  if (o.labels == LabelMode::kFlipped && std::find(flipped.begin(), flipped.end(), true) == flipped.end())
    ex.label_strings = d.labels;  // nothing flipped: the natural target
  ex.layout = static_cast<int32_t>(rng.below(std::size(kLayouts)));
  const Layout& layout = kLayouts[ex.layout];
  for (size_t e = 0; e < exemplars.size(); ++e) {
    const auto [label, index] = exemplars[e];
    const std::string& shown = flipped[e] ? ex.label_strings[label] : d.labels[label];
    ex.exemplars.push_back(std::string(layout.input_prefix) + input_of(d, d.train[index]) + layout.joiner +
                           layout.output_prefix + " " + shown);
    ex.exemplar_labels.push_back(label);
  }
  ex.query = std::string(layout.input_prefix) + input_of(d, query) + layout.joiner + layout.output_prefix;
  ex.query_label = query.label;
  ex.target = " " + ex.label_strings[query.label];
  if (o.with_instruction) {
    std::vector<std::string> shown = ex.label_strings;
    ex.prefix = "Classify each input" + (d.task.empty() ? std::string() : " (" + d.task + ")") +
                " into one of these labels: " + join(shown, ", ") + ".\n\n";
  }
  return ex;
}

std::string flan_task_for(const std::string& name) {
  static const std::map<std::string, std::string> kTasks{
      {"rte", "rte"},   {"cb", "cb"},   {"mnli", "mnli"}, {"qnli", "qnli"}, {"wnli", "wnli"}, {"mrpc", "glue_mrpc"},
      {"sst2", "sst2"}, {"mr", "sst2"}, {"cr", "sst2"},   {"mpqa", "sst2"}, {"cola", "cola"}, {"trec", "trec"}};
  auto it = kTasks.find(name);
  return it == kTasks.end() ? "" : it->second;
}

TextExample build_flan_example(const ClassificationDataset& d, const FlanTemplates& templates, Rng& rng) {
  const LabelledExample& e = d.train[rng.below(d.train.size())];
  const std::string options = "OPTIONS:\n- " + join(d.labels, "\n- ");
  TextExample ex;
  ex.kind = "instruction";
  ex.source = "flan:" + d.name;
  ex.label_strings = d.labels;
  ex.query_label = e.label;
  const std::string task = flan_task_for(d.name);
  auto it = templates.find(task);
  if (!task.empty() && it != templates.end() && !it->second.empty()) {
    const auto& [input_t, target_t] = it->second[rng.below(it->second.size())];
    // Every FLAN field name this dataset's fields can stand for.
    const std::vector<std::pair<std::string, std::string>> fields{{"{premise}", e.text},
                                                                  {"{hypothesis}", e.text2},
                                                                  {"{question}", e.text},
                                                                  {"{sentence}", d.is_pair() ? e.text2 : e.text},
                                                                  {"{sentence1}", e.text},
                                                                  {"{sentence2}", e.text2},
                                                                  {"{text}", e.text},
                                                                  {"{options_}", options},
                                                                  {"{answer}", d.labels[e.label]}};
    std::string input = input_t, target = target_t;
    for (const auto& [key, value] : fields) {
      input = replace_all(input, key, value);
      target = replace_all(target, key, value);
    }
    ex.query = input + (input.empty() || input.back() != '\n' ? "\n" : "");
    ex.target = target;
  } else {
    ex.query = "Classify the following" + (d.task.empty() ? std::string() : " (" + d.task + ")") + ".\n\n" +
               input_of(d, e) + "\n\n" + options + "\n";
    ex.target = d.labels[e.label];
  }
  return ex;
}

TextExample build_instruction_example(const InstructionExample& e, const std::string& source) {
  TextExample ex;
  ex.kind = "instruction";
  ex.source = source;
  ex.query = e.input + (e.input.empty() || e.input.back() != '\n' ? "\n" : "");
  ex.target = e.target;
  return ex;
}

}  // namespace symtune

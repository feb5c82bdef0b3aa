// Readers for the datasets symbol tuning is built from:
//  * labelled classification data: a folder with dataset.json {name, task, labels, fields,
//    field_names} and train.jsonl / test.jsonl, one {"text", ["text2",] "label"} per line,
//    the label being one of dataset.json's label names;
//  * instruction data: JSONL lines {"input", "target"}.
// Every problem is an Error naming the file and line; nothing is skipped silently.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace symtune {

struct LabelledExample {
  std::string text;
  std::string text2;  // empty for single-text tasks
  int32_t label = 0;  // index into ClassificationDataset::labels
};

struct ClassificationDataset {
  std::string name;
  std::string task;                      // e.g. "nli", "sentiment"
  std::vector<std::string> labels;       // natural-language label names, in id order
  std::string text_field_name = "text";  // e.g. "premise"
  std::string text2_field_name;          // e.g. "hypothesis"; empty for single-text tasks
  std::vector<LabelledExample> train, test;
  std::vector<std::vector<int32_t>> train_by_label;  // indices into train per label, filled by the loader

  bool is_pair() const { return !text2_field_name.empty(); }
  // Examples of `split` per label: by_label[label] = indices into the split.
  std::vector<std::vector<int32_t>> indices_by_label(const std::vector<LabelledExample>& split) const;
};

// Reads dir/dataset.json and the splits present (train.jsonl, test.jsonl; at least one).
// At most `max_examples_per_split` lines are kept per split (0 = all), the first ones in file
// order, which is how the paper's 25k cap is applied.
ClassificationDataset load_classification_dataset(const std::filesystem::path& dir, int64_t max_examples_per_split = 0);

struct InstructionExample {
  std::string input, target;
};

std::vector<InstructionExample> load_instruction_jsonl(const std::filesystem::path& path);

// FLAN's instruction templates: task -> [(input template, target template)], placeholders
// like {premise}, {options_}, {answer}.
using FlanTemplates = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;
FlanTemplates load_flan_templates(const std::filesystem::path& path);

}  // namespace symtune

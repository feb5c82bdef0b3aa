#include "data/datasets.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A JSONL line longer than this is not an example (the longest shared one is a few KB); reading
// it whole would let a file without newlines ask for all of memory.
constexpr size_t kMaxLineBytes = size_t(16) << 20;

// Like std::getline, but refuses (Error naming file and line) a line longer than kMaxLineBytes
// before holding it.
bool read_bounded_line(std::istream& in, std::string& line, const fs::path& path, int64_t line_number) {
  line.clear();
  char chunk[4096];
  while (in.get(chunk, sizeof(chunk), '\n')) {
    line.append(chunk, static_cast<size_t>(in.gcount()));
    if (line.size() > kMaxLineBytes)
      throw Error(path.string() + ":" + std::to_string(line_number) + ": line longer than 16 MiB; not a JSONL example");
  }
  if (in.eof()) return !line.empty();
  in.clear();  // get() sets failbit on an empty line or at a newline
  if (in.peek() == '\n') in.ignore();
  else if (!in) return !line.empty();
  return true;
}

// Calls fn(json, line_number) for each non-empty line; a malformed line is an Error naming
// file and line. Returns the number of lines read.
template <typename Fn>
int64_t for_each_jsonl(const fs::path& path, Fn&& fn, int64_t max_lines = 0) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open for reading");
  std::string line;
  int64_t line_number = 0, read = 0;
  while (read_bounded_line(in, line, path, line_number + 1)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (max_lines > 0 && read >= max_lines) break;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(path.string() + ":" + std::to_string(line_number) + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw Error(path.string() + ":" + std::to_string(line_number) + ": expected a JSON object");
    fn(j, line_number);
    ++read;
  }
  if (read == 0) throw Error(path.string() + ": empty file (no JSON lines)");
  return read;
}

std::string string_field(const json& j, const char* key, const fs::path& path, int64_t line, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Error(path.string() + ":" + std::to_string(line) + ": missing string field '" + key + "'");
    return "";
  }
  if (!j[key].is_string())
    throw Error(path.string() + ":" + std::to_string(line) + ": field '" + key + "' must be a string, found " +
                j[key].dump());
  return j[key].get<std::string>();
}

}  // namespace

std::vector<std::vector<int32_t>> ClassificationDataset::indices_by_label(
    const std::vector<LabelledExample>& split) const {
  std::vector<std::vector<int32_t>> by_label(labels.size());
  for (size_t i = 0; i < split.size(); ++i) by_label[split[i].label].push_back(static_cast<int32_t>(i));
  return by_label;
}

ClassificationDataset load_classification_dataset(const fs::path& dir, int64_t max_examples_per_split) {
  const fs::path meta_path = dir / "dataset.json";
  if (!fs::exists(meta_path))
    throw Error(meta_path.string() + ": not found (a classification dataset folder needs dataset.json)");
  json meta;
  try {
    meta = json::parse(read_text_file(meta_path));
  } catch (const json::exception& e) {
    throw Error(meta_path.string() + ": not valid JSON: " + e.what());
  }
  ClassificationDataset d;
  d.name =
      meta.contains("name") && meta["name"].is_string() ? meta["name"].get<std::string>() : dir.filename().string();
  d.task = meta.contains("task") && meta["task"].is_string() ? meta["task"].get<std::string>() : "";
  if (!meta.contains("labels") || !meta["labels"].is_array() || meta["labels"].empty())
    throw Error(meta_path.string() + ": 'labels' must be a non-empty list of label names");
  std::map<std::string, int32_t> label_id;
  for (const auto& l : meta["labels"]) {
    if (!l.is_string()) throw Error(meta_path.string() + ": 'labels' entries must be strings, found " + l.dump());
    if (label_id.count(l.get<std::string>()))
      throw Error(meta_path.string() + ": label '" + l.get<std::string>() + "' is listed twice");
    label_id[l.get<std::string>()] = static_cast<int32_t>(d.labels.size());
    d.labels.push_back(l.get<std::string>());
  }
  bool has_text2 = false;
  if (meta.contains("fields") && meta["fields"].is_array())
    for (const auto& f : meta["fields"]) has_text2 = has_text2 || (f.is_string() && f.get<std::string>() == "text2");
  if (meta.contains("field_names") && meta["field_names"].is_object()) {
    const json& names = meta["field_names"];
    if (names.contains("text") && names["text"].is_string()) d.text_field_name = names["text"].get<std::string>();
    if (has_text2)
      d.text2_field_name =
          names.contains("text2") && names["text2"].is_string() ? names["text2"].get<std::string>() : "text2";
  } else if (has_text2) {
    d.text2_field_name = "text2";
  }

  bool any_split = false;
  for (const auto& named_split : {std::pair{"train", &d.train}, std::pair{"test", &d.test}}) {
    std::vector<LabelledExample>* split = named_split.second;  // a plain variable: lambdas may capture it
    const fs::path path = dir / (std::string(named_split.first) + ".jsonl");
    if (!fs::exists(path)) continue;
    any_split = true;
    for_each_jsonl(
        path,
        [&](const json& j, int64_t line) {
          LabelledExample e;
          e.text = string_field(j, "text", path, line, true);
          e.text2 = string_field(j, "text2", path, line, has_text2);
          const std::string label = string_field(j, "label", path, line, true);
          auto it = label_id.find(label);
          if (it == label_id.end())
            throw Error(path.string() + ":" + std::to_string(line) + ": label '" + label + "' is not one of " +
                        meta_path.string() + "'s labels " + meta["labels"].dump());
          e.label = it->second;
          split->push_back(std::move(e));
        },
        max_examples_per_split);
  }
  if (!any_split) throw Error(dir.string() + ": no train.jsonl or test.jsonl");
  d.train_by_label = d.indices_by_label(d.train);
  return d;
}

std::vector<InstructionExample> load_instruction_jsonl(const fs::path& path) {
  std::vector<InstructionExample> out;
  for_each_jsonl(path, [&](const json& j, int64_t line) {
    out.push_back({string_field(j, "input", path, line, true), string_field(j, "target", path, line, true)});
  });
  return out;
}

FlanTemplates load_flan_templates(const fs::path& path) {
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(path.string() + ": expected {task: [[input, target], ...]}");
  FlanTemplates out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_array()) throw Error(path.string() + ": task '" + it.key() + "' must map to a list of template pairs");
    for (const auto& pair : *it) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
        throw Error(path.string() + ": task '" + it.key() + "': each template must be [input, target] strings");
      out[it.key()].emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
  }
  return out;
}

}  // namespace symtune

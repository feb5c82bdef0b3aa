// One table per config section declares each field once: its key, the member it fills, its
// range or choices, and a one-line doc; the default is read from a default-constructed section.
// Everything else is derived from the table: parsing, the unknown-key error with its nearest-key
// hint (so `--set` typos are caught too), range checks, and the generated reference
// (`symtune train --config-reference`, docs/config-reference.md).
//
// Adding a field is one entry, e.g. in trainer/train_config.cpp:
//   .integer("log_every", &TrainSection::log_every, {1, kMaxConfigSteps}, "steps between metric lines")
// Checks between fields (min <= max, one of two keys) stay in the section's validate().
// Must not include torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json_keys.h"
#include "common/json_values.h"

namespace symtune {

// Where a section is read from: errors start with `where` ("run.json: train"), and relative
// paths resolve against `base_dir` (the config file's folder).
struct FieldContext {
  std::string where;
  std::filesystem::path base_dir;
};

// A field as the reference lists it.
struct FieldDoc {
  std::string key, type, default_value, allowed, doc;
};

// Bounds several sections share: far above any real run, they only keep a typo from turning
// into a run that cannot start, never ends, or overflows a float.
constexpr int64_t kMaxConfigSteps = 1'000'000'000;
constexpr int64_t kMaxConfigCount = 1'000'000'000;  // examples, lines
constexpr double kMaxLearningRate = 1e3;

// Inclusive integer bounds.
struct IntRange {
  int64_t min, max;
};
// Number bounds; `min_exclusive` for rates that must be positive. Non-finite values are refused.
struct NumberRange {
  double min, max;
  bool min_exclusive = false, max_exclusive = false;
};

// The readers behind the table (config_table.cpp): absent keys leave `out` alone; present ones
// must have the right JSON type and lie in range, else Error "<where>: '<key>' must be ...".
void read_in_range(const nlohmann::json& object, const char* key, int64_t& out, IntRange range,
                   const std::string& where);
void read_in_range(const nlohmann::json& object, const char* key, double& out, NumberRange range,
                   const std::string& where);
void read_in_range(const nlohmann::json& object, const char* key, std::optional<double>& out, NumberRange range,
                   const std::string& where);
// `path` with ${VAR} and ${VAR:-default} expanded from the environment and resolved against
// base_dir; Error naming `where` for an unset variable without a default. "" stays "".
std::string resolve_path(const std::string& path, const std::filesystem::path& base_dir, const std::string& where);
// A path field: read as a string, then resolve_path against ctx.base_dir.
void read_path(const nlohmann::json& object, const char* key, std::string& out, const FieldContext& ctx);
std::string range_text(IntRange range);
// "a", "b" or "c"
std::string choices_text(const std::vector<std::string>& names);
std::string range_text(NumberRange range);
std::string default_text(int64_t value);
std::string default_text(uint64_t value);
std::string default_text(double value);
std::string default_text(bool value);
std::string default_text(const std::string& value);
std::string default_text(const std::optional<double>& value);
std::string default_text(const std::vector<std::string>& value);
std::string default_text(const std::vector<int64_t>& value);

// A markdown table of `fields`: key | type | default | allowed | meaning.
std::string reference_markdown(const std::vector<FieldDoc>& fields);

template <typename Section>
class ConfigTable {
 public:
  using Reader = std::function<void(const nlohmann::json& object, Section& out, const FieldContext& ctx)>;

  ConfigTable& integer(const char* key, int64_t Section::*member, IntRange range, const char* doc) {
    return add({key, "integer", default_text(Section{}.*member), range_text(range), doc},
               [=](const nlohmann::json& o, Section& s, const FieldContext& c) {
                 read_in_range(o, key, s.*member, range, c.where);
               });
  }
  // Seeds: any non-negative 64-bit integer.
  ConfigTable& seed(const char* key, uint64_t Section::*member, const char* doc) {
    return add(
        {key, "integer", default_text(Section{}.*member), "[0, 2^64 - 1]", doc},
        [=](const nlohmann::json& o, Section& s, const FieldContext& c) { read_value(o, key, s.*member, c.where); });
  }
  ConfigTable& number(const char* key, double Section::*member, NumberRange range, const char* doc) {
    return add({key, "number", default_text(Section{}.*member), range_text(range), doc},
               [=](const nlohmann::json& o, Section& s, const FieldContext& c) {
                 read_in_range(o, key, s.*member, range, c.where);
               });
  }
  // A number, or null for "none".
  ConfigTable& optional_number(const char* key, std::optional<double> Section::*member, NumberRange range,
                               const char* doc) {
    return add({key, "number or null", default_text(Section{}.*member), range_text(range), doc},
               [=](const nlohmann::json& o, Section& s, const FieldContext& c) {
                 read_in_range(o, key, s.*member, range, c.where);
               });
  }
  ConfigTable& flag(const char* key, bool Section::*member, const char* doc) {
    return add(
        {key, "boolean", default_text(Section{}.*member), "true, false", doc},
        [=](const nlohmann::json& o, Section& s, const FieldContext& c) { read_value(o, key, s.*member, c.where); });
  }
  ConfigTable& text(const char* key, std::string Section::*member, const char* doc) {
    return add(
        {key, "string", default_text(Section{}.*member), "", doc},
        [=](const nlohmann::json& o, Section& s, const FieldContext& c) { read_value(o, key, s.*member, c.where); });
  }
  ConfigTable& path(const char* key, std::string Section::*member, const char* doc) {
    return add({key, "path", default_text(Section{}.*member), "relative to the config file; ${VAR} expanded", doc},
               [=](const nlohmann::json& o, Section& s, const FieldContext& c) { read_path(o, key, s.*member, c); });
  }
  ConfigTable& texts(const char* key, std::vector<std::string> Section::*member, const char* doc) {
    return add(
        {key, "list of strings", default_text(Section{}.*member), "", doc},
        [=](const nlohmann::json& o, Section& s, const FieldContext& c) { read_value(o, key, s.*member, c.where); });
  }
  ConfigTable& integers(const char* key, std::vector<int64_t> Section::*member, const char* doc) {
    return add(
        {key, "list of integers", default_text(Section{}.*member), "", doc},
        [=](const nlohmann::json& o, Section& s, const FieldContext& c) { read_value(o, key, s.*member, c.where); });
  }
  // A name picked from `choices` (the first spelling of a value is the one shown as default).
  template <typename E>
  ConfigTable& choice(const char* key, E Section::*member, std::vector<std::pair<const char*, E>> choices,
                      const char* doc) {
    std::vector<std::string> names;
    std::string shown;
    for (const auto& [name, value] : choices) {
      names.push_back(name);
      if (shown.empty() && value == Section{}.*member) shown = std::string("\"") + name + "\"";
    }
    const std::string allowed = choices_text(names);
    return add({key, "string", shown, allowed, doc}, [=](const nlohmann::json& o, Section& s, const FieldContext& c) {
      std::string name;
      if (!read_value(o, key, name, c.where)) return;
      for (const auto& [spelling, value] : choices)
        if (name == spelling) {
          s.*member = value;
          return;
        }
      throw Error(c.where + ": '" + key + "' must be " + allowed + ", found \"" + name + "\"");
    });
  }
  // Anything the kinds above do not cover (a nested section, a value with two spellings).
  ConfigTable& custom(FieldDoc doc, Reader read) { return add(std::move(doc), std::move(read)); }

  // Checks that every key of `object` is a field (Error with the nearest key otherwise), then
  // reads the fields in table order into `out`.
  void read(const nlohmann::json& object, Section& out, const FieldContext& ctx) const {
    require_known_keys(object, keys(), ctx.where);
    for (const auto& reader : readers_) reader(object, out, ctx);
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const auto& d : docs_) k.push_back(d.key);
    return k;
  }
  const std::vector<FieldDoc>& docs() const { return docs_; }

 private:
  ConfigTable& add(FieldDoc doc, Reader read) {
    docs_.push_back(std::move(doc));
    readers_.push_back(std::move(read));
    return *this;
  }
  std::vector<FieldDoc> docs_;
  std::vector<Reader> readers_;
};

}  // namespace symtune

// Optional values of configuration objects, read with one rule everywhere: an absent key
// leaves `out` as it is (the default), a value of the wrong JSON type is an Error
// "<where>: '<key>' must be <what>, found <value>", and nothing is converted on the way (no
// 3.7 read as 3, no -1 as a huge unsigned number, no "true" as a flag). Each returns whether
// the key was there. Names chosen from a fixed set (an enum's spellings) go through choose().
// Must not include torch.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace symtune {

bool read_value(const nlohmann::json& object, const char* key, bool& out, const std::string& where);
bool read_value(const nlohmann::json& object, const char* key, int64_t& out, const std::string& where);
bool read_value(const nlohmann::json& object, const char* key, uint64_t& out, const std::string& where);
bool read_value(const nlohmann::json& object, const char* key, double& out, const std::string& where);
bool read_value(const nlohmann::json& object, const char* key, std::string& out, const std::string& where);
bool read_value(const nlohmann::json& object, const char* key, std::vector<std::string>& out, const std::string& where);
bool read_value(const nlohmann::json& object, const char* key, std::vector<int64_t>& out, const std::string& where);
// A number, or null for "none".
bool read_value(const nlohmann::json& object, const char* key, std::optional<double>& out, const std::string& where);

// The value that `name` spells among `choices`; otherwise Error
// <lead>"a", "b" or "c", found "<name>".
template <typename T>
T choose(const std::string& name, std::initializer_list<std::pair<const char*, T>> choices, const std::string& lead) {
  for (const auto& [spelling, value] : choices)
    if (name == spelling) return value;
  std::string listed;
  size_t i = 0;
  for (const auto& choice : choices) {
    listed += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + "\"" + choice.first + "\"";
    ++i;
  }
  throw Error(lead + listed + ", found \"" + name + "\"");
}

// A string naming one of `choices`, read into `out` when present: Error
// "<where>: '<key>' must be "a", "b" or "c", found ..." otherwise.
template <typename T>
bool read_choice(const nlohmann::json& object, const char* key, T& out,
                 std::initializer_list<std::pair<const char*, T>> choices, const std::string& where) {
  std::string name;
  if (!read_value(object, key, name, where)) return false;
  out = choose(name, choices, where + ": '" + key + "' must be ");
  return true;
}

}  // namespace symtune

#include "common/json_values.h"

#include <nlohmann/json.hpp>

#include <cstdint>

#include "common/error.h"

namespace symtune {
namespace {

using json = nlohmann::json;

// The value under `key`, or nullptr when absent; throws when present but `fits` says no.
template <typename Fits>
const json* value_of(const json& object, const char* key, const char* what, const std::string& where, Fits fits) {
  if (!object.contains(key)) return nullptr;
  const json& v = object[key];
  if (!fits(v)) throw Error(where + ": '" + key + "' must be " + what + ", found " + v.dump());
  return &v;
}

bool all_of(const json& v, bool (json::*is)() const noexcept) {
  if (!v.is_array()) return false;
  for (const json& e : v)
    if (!(e.*is)()) return false;
  return true;
}

}  // namespace

bool read_value(const json& object, const char* key, bool& out, const std::string& where) {
  const json* v = value_of(object, key, "true or false", where, [](const json& x) { return x.is_boolean(); });
  if (v) out = v->get<bool>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, int64_t& out, const std::string& where) {
  // Unsigned values past INT64_MAX would wrap to negative ones.
  auto fits = [](const json& x) {
    return x.is_number_integer() && !(x.is_number_unsigned() && x.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX));
  };
  const json* v = value_of(object, key, "an integer", where, fits);
  if (v) out = v->get<int64_t>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, uint64_t& out, const std::string& where) {
  const json* v =
      value_of(object, key, "a non-negative integer", where, [](const json& x) { return x.is_number_unsigned(); });
  if (v) out = v->get<uint64_t>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, double& out, const std::string& where) {
  const json* v = value_of(object, key, "a number", where, [](const json& x) { return x.is_number(); });
  if (v) out = v->get<double>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, std::string& out, const std::string& where) {
  const json* v = value_of(object, key, "a string", where, [](const json& x) { return x.is_string(); });
  if (v) out = v->get<std::string>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, std::vector<std::string>& out, const std::string& where) {
  const json* v =
      value_of(object, key, "a list of strings", where, [](const json& x) { return all_of(x, &json::is_string); });
  if (v) out = v->get<std::vector<std::string>>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, std::vector<int64_t>& out, const std::string& where) {
  const json* v = value_of(object, key, "a list of integers", where,
                           [](const json& x) { return all_of(x, &json::is_number_integer); });
  if (v) out = v->get<std::vector<int64_t>>();
  return v != nullptr;
}

bool read_value(const json& object, const char* key, std::optional<double>& out, const std::string& where) {
  const json* v =
      value_of(object, key, "a number or null", where, [](const json& x) { return x.is_number() || x.is_null(); });
  if (v) out = v->is_null() ? std::nullopt : std::optional<double>(v->get<double>());
  return v != nullptr;
}

}  // namespace symtune

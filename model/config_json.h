// Reading a model's config.json: typed values by key, each error naming the file (`origin`) and
// the key, for model/model_config.cpp and model/model_families.cpp.
// No torch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/model_config.h"

namespace symtune::config_json {

// Present and not null.
bool present(const nlohmann::json& j, const char* key);
int64_t require_int(const nlohmann::json& j, const char* key, const std::string& origin);
int64_t int_or(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& origin);
double number_or(const nlohmann::json& j, const char* key, double fallback, const std::string& origin);
bool bool_or(const nlohmann::json& j, const char* key, bool fallback, const std::string& origin);
std::string string_or(const nlohmann::json& j, const char* key, const std::string& fallback, const std::string& origin);
std::optional<int64_t> optional_int(const nlohmann::json& j, const char* key, const std::string& origin);
// The rope parameters as written: "rope_parameters" (5.x), else "rope_scaling" (4.x), else {}.
nlohmann::json rope_params_of(const nlohmann::json& j);
// Whether they are given per layer type ({"full_attention": {...}, "sliding_attention": {...}}).
bool rope_params_per_layer_type(const nlohmann::json& params);
// One rope parameter object ({rope_type|type, rope_theta, factor, ...}); `theta` when it names none.
RopeConfig read_rope_params(const nlohmann::json& params, double theta, const std::string& origin);

}  // namespace symtune::config_json

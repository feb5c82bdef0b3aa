// Optional values of configuration objects, read with one rule everywhere: an absent key
// leaves `out` as it is (the default), a value of the wrong JSON type is an Error
// "<where>: '<key>' must be <what>, found <value>", and nothing is converted on the way (no
// 3.7 read as 3, no -1 as a huge unsigned number, no "true" as a flag). Each returns whether
// the key was there. Names chosen from a fixed set (an enum's spellings) are read by
// ConfigTable::choice (common/config_table.h).
// Must not include torch.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
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

}  // namespace symtune

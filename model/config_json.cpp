#include "model/config_json.h"

#include "common/error.h"

namespace symtune::config_json {
using json = nlohmann::json;

bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

int64_t require_int(const json& j, const char* key, const std::string& origin) {
  if (!present(j, key)) throw Error(origin + ": required key '" + key + "' is missing");
  if (!j.at(key).is_number_integer())
    throw Error(origin + ": key '" + key + "' must be an integer, found " + j.at(key).dump());
  return j.at(key).get<int64_t>();
}

int64_t int_or(const json& j, const char* key, int64_t fallback, const std::string& origin) {
  return present(j, key) ? require_int(j, key, origin) : fallback;
}

double number_or(const json& j, const char* key, double fallback, const std::string& origin) {
  if (!present(j, key)) return fallback;
  if (!j.at(key).is_number()) throw Error(origin + ": key '" + key + "' must be a number, found " + j.at(key).dump());
  return j.at(key).get<double>();
}

bool bool_or(const json& j, const char* key, bool fallback, const std::string& origin) {
  if (!present(j, key)) return fallback;
  if (!j.at(key).is_boolean())
    throw Error(origin + ": key '" + key + "' must be true or false, found " + j.at(key).dump());
  return j.at(key).get<bool>();
}

std::string string_or(const json& j, const char* key, const std::string& fallback, const std::string& origin) {
  if (!present(j, key)) return fallback;
  if (!j.at(key).is_string()) throw Error(origin + ": key '" + key + "' must be a string, found " + j.at(key).dump());
  return j.at(key).get<std::string>();
}

std::optional<int64_t> optional_int(const json& j, const char* key, const std::string& origin) {
  if (!present(j, key)) return std::nullopt;
  return require_int(j, key, origin);
}

json rope_params_of(const json& j) {
  if (present(j, "rope_parameters")) return j.at("rope_parameters");
  if (present(j, "rope_scaling")) return j.at("rope_scaling");
  return json::object();
}

bool rope_params_per_layer_type(const json& params) {
  return params.is_object() && (params.contains("full_attention") || params.contains("sliding_attention"));
}

RopeConfig read_rope_params(const json& params, double theta, const std::string& origin) {
  if (!params.is_object())
    throw Error(origin + ": 'rope_parameters'/'rope_scaling' must be an object, found " + params.dump());
  RopeConfig rope;
  rope.theta = number_or(params, "rope_theta", theta, origin);
  const std::string type = string_or(params, "rope_type", string_or(params, "type", "default", origin), origin);
  if (type != "default" && type != "llama3" && type != "linear" && type != "longrope")
    throw Error(origin + ": rope type '" + type +
                "' is not supported (supported: default, linear, llama3, longrope); refusing to approximate it");
  rope.type = type;
  if (type == "longrope") {  // the family completes it (model_families.cpp: original length, attention factor)
    for (auto [key, out] :
         {std::pair{"short_factor", &rope.short_factor}, std::pair{"long_factor", &rope.long_factor}}) {
      const json* list = params.contains(key) ? &params.at(key) : nullptr;
      if (list == nullptr || !list->is_array() || list->empty())
        throw Error(origin + ": longrope needs '" + key + "', a list of numbers, found " +
                    (list ? list->dump() : std::string("nothing")));
      for (const auto& v : *list) {
        if (!v.is_number() || !(v.get<double>() > 0))
          throw Error(origin + ": longrope '" + key + "' entries must be positive numbers, found " + v.dump());
        out->push_back(v.get<double>());
      }
    }
    rope.factor = number_or(params, "factor", 0.0, origin);  // 0: max_position_embeddings / original
    rope.attention_factor = number_or(params, "attention_factor", 0.0, origin);  // 0: from the factor
  }
  if (type == "linear") {
    rope.factor = number_or(params, "factor", 0.0, origin);
    if (!(rope.factor > 0)) throw Error(origin + ": linear rope scaling needs factor > 0, found " + params.dump());
  }
  if (type == "llama3") {
    rope.factor = number_or(params, "factor", 0.0, origin);
    rope.low_freq_factor = number_or(params, "low_freq_factor", 0.0, origin);
    rope.high_freq_factor = number_or(params, "high_freq_factor", 0.0, origin);
    rope.original_max_position_embeddings = int_or(params, "original_max_position_embeddings", 0, origin);
    if (rope.factor <= 0 || rope.low_freq_factor <= 0 || rope.high_freq_factor <= rope.low_freq_factor ||
        rope.original_max_position_embeddings <= 0)
      throw Error(origin +
                  ": llama3 rope scaling needs factor > 0, 0 < low_freq_factor < "
                  "high_freq_factor and original_max_position_embeddings > 0, found " +
                  params.dump());
  }
  return rope;
}

}  // namespace symtune::config_json

#include "model/model_families.h"

#include <cmath>

#include "common/error.h"
#include "model/config_json.h"

namespace symtune {
using json = nlohmann::json;
using namespace config_json;

namespace {

// 1 for every layer except each n-th (counting from 1), which gets 0: the per-layer defaults
// both SmolLM3Config (no_rope_layer_interval) and Gemma 2/3 (sliding_window_pattern) derive.
std::vector<int64_t> all_but_every_nth(int64_t num_layers, int64_t n, const char* key, const std::string& origin) {
  if (n < 1) throw Error(origin + ": '" + key + "' must be positive, found " + std::to_string(n));
  std::vector<int64_t> layers;
  for (int64_t i = 0; i < num_layers; ++i) layers.push_back((i + 1) % n != 0 ? 1 : 0);
  return layers;
}

// SmolLM3's no_rope_layers (1 = rotary, 0 = none), one per layer; when absent, as SmolLM3Config
// derives it: every no_rope_layer_interval-th layer (default 4) without rotary embedding.
std::vector<int64_t> read_rope_layers(const json& j, int64_t num_layers, const std::string& origin) {
  std::vector<int64_t> layers;
  if (num_layers < 1 || num_layers > 1024) return layers;  // validate() names the layer count
  if (!present(j, "no_rope_layers"))
    return all_but_every_nth(num_layers, int_or(j, "no_rope_layer_interval", 4, origin), "no_rope_layer_interval",
                             origin);
  const json& list = j.at("no_rope_layers");
  if (!list.is_array() || static_cast<int64_t>(list.size()) != num_layers)
    throw Error(origin + ": 'no_rope_layers' must list 0 or 1 for each of the " + std::to_string(num_layers) +
                " layers, found " + list.dump());
  for (const auto& v : list) {
    if (!v.is_number_integer() || (v.get<int64_t>() != 0 && v.get<int64_t>() != 1))
      throw Error(origin + ": 'no_rope_layers' entries must be 0 or 1, found " + v.dump());
    layers.push_back(v.get<int64_t>());
  }
  return layers;
}

// A positive number or null; absent: the family's default.
std::optional<double> optional_positive(const json& j, const char* key, std::optional<double> fallback,
                                        const std::string& origin) {
  if (!j.contains(key)) return fallback;
  if (j.at(key).is_null()) return std::nullopt;
  const double v = number_or(j, key, 0.0, origin);
  if (!(v > 0)) throw Error(origin + ": '" + key + "' must be positive or null, found " + j.at(key).dump());
  return v;
}

// layer_types as 1 = sliding; when absent, every `pattern`-th layer is full (Gemma 2: 2, so
// the even layers slide; Gemma 3: sliding_window_pattern, default 6).
std::vector<int64_t> read_sliding_layers(const json& j, int64_t num_layers, int64_t pattern,
                                         const std::string& origin) {
  std::vector<int64_t> layers;
  if (num_layers < 1 || num_layers > 1024) return layers;  // validate() names the layer count
  if (!present(j, "layer_types")) return all_but_every_nth(num_layers, pattern, "sliding_window_pattern", origin);
  const json& types = j.at("layer_types");
  if (!types.is_array() || static_cast<int64_t>(types.size()) != num_layers)
    throw Error(origin + ": 'layer_types' must name the attention of each of the " + std::to_string(num_layers) +
                " layers, found " + types.dump());
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != "sliding_attention" && types[i] != "full_attention")
      throw Error(origin + ": layer_types[" + std::to_string(i) + "] is " + types[i].dump() +
                  " (supported: \"sliding_attention\", \"full_attention\")");
    layers.push_back(types[i] == "sliding_attention" ? 1 : 0);
  }
  return layers;
}

// Qwen2, Qwen3 and SmolLM3: sliding windows only with use_sliding_window (shipped off), on the
// layers layer_types names, or as the config class derives them when it is absent: Qwen's layers
// from max_window_layers on (default 28), SmolLM3's layers without rotary embedding.
void read_optional_windows(const json& j, ModelConfig& c, const std::string& origin) {
  const bool smollm3 = c.architecture == Architecture::kSmolLM3;
  if (!bool_or(j, "use_sliding_window", false, origin)) {
    // transformers masks such layers (SmolLM3) or rejects the config (Qwen): neither is silent.
    if (present(j, "layer_types") && j.at("layer_types").is_array())
      for (size_t i = 0; i < j.at("layer_types").size(); ++i)
        if (j.at("layer_types")[i] == "sliding_attention")
          throw Error(origin + ": layer_types[" + std::to_string(i) +
                      "] is \"sliding_attention\" but use_sliding_window is false; set use_sliding_window to true "
                      "(with sliding_window) or make the layer \"full_attention\"");
    return;
  }
  c.sliding_window = j.contains("sliding_window") ? optional_int(j, "sliding_window", origin)
                     : smollm3                    ? std::nullopt
                                                  : std::optional<int64_t>(4096);
  if (!c.sliding_window || c.num_layers < 1 || c.num_layers > 1024) return;  // validate() names the layer count
  if (present(j, "layer_types")) {
    c.sliding_layers = read_sliding_layers(j, c.num_layers, 1, origin);
    return;
  }
  const int64_t first = int_or(j, "max_window_layers", 28, origin);
  for (int64_t i = 0; i < c.num_layers; ++i)
    c.sliding_layers.push_back(smollm3 ? (c.layer_uses_rope(i) ? 0 : 1) : (i >= first ? 1 : 0));
}

// Phi-3's longrope: the pretraining length from the top-level original_max_position_embeddings
// (transformers gives it priority; default 4096), the factor lists one per rotary frequency, and
// the attention factor sqrt(1 + ln(factor) / ln(original)) when the config gives none, with
// factor = max_position_embeddings / original unless set.
void complete_longrope(const json& j, ModelConfig& c, const std::string& origin) {
  RopeConfig& r = c.rope;
  r.original_max_position_embeddings = int_or(j, "original_max_position_embeddings", 4096, origin);
  if (r.original_max_position_embeddings < 2)
    throw Error(origin + ": 'original_max_position_embeddings' must be at least 2, found " +
                std::to_string(r.original_max_position_embeddings));
  const size_t frequencies = static_cast<size_t>(c.rotary_dims() / 2);
  for (auto [key, list] : {std::pair{"short_factor", &r.short_factor}, std::pair{"long_factor", &r.long_factor}})
    if (list->size() != frequencies)
      throw Error(origin + ": longrope '" + key + "' has " + std::to_string(list->size()) + " entries; the " +
                  std::to_string(c.rotary_dims()) + " rotary dims need " + std::to_string(frequencies));
  const double factor = r.factor > 0 ? r.factor
                                     : static_cast<double>(c.max_position_embeddings) /
                                           static_cast<double>(r.original_max_position_embeddings);
  if (r.attention_factor <= 0)
    r.attention_factor =
        factor <= 1 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(double(r.original_max_position_embeddings)));
}

// Gemma 3's two rotary embeddings: full layers rope_theta (default 1e6) with rope_scaling,
// sliding layers rope_local_base_freq (default 1e4), as 4.x writes them; or rope_parameters
// {"full_attention": {...}, "sliding_attention": {...}} as 5.x does.
void read_gemma3_ropes(const json& j, ModelConfig& c, const std::string& origin) {
  const json params = present(j, "rope_parameters") ? j.at("rope_parameters") : json();
  if (rope_params_per_layer_type(params)) {
    c.rope = read_rope_params(params.value("full_attention", json::object()), 1e6, origin + " (full_attention rope)");
    c.sliding_rope =
        read_rope_params(params.value("sliding_attention", json::object()), 1e4, origin + " (sliding_attention rope)");
    return;
  }
  const json scaling = present(j, "rope_scaling") ? j.at("rope_scaling") : params.is_object() ? params : json::object();
  c.rope = read_rope_params(scaling, number_or(j, "rope_theta", 1e6, origin), origin);
  c.sliding_rope = RopeConfig{};
  c.sliding_rope->theta = number_or(j, "rope_local_base_freq", 1e4, origin);
}

// Gemma 2 and 3: four norms a block, (1 + w) norms, scaled embeddings, query_pre_attn_scalar,
// soft-capping (Gemma 2 by default, Gemma 3 when set), sliding and full layers; Gemma 3 adds
// per-head q/k norms and a second rotary embedding for its sliding layers.
void read_gemma2_options(const json& j, ModelConfig& c, const std::string& origin) {
  const bool gemma3 = c.architecture == Architecture::kGemma3;
  c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", false, origin);
  c.norm_weight_offset_one = true;
  c.scale_embeddings = true;
  c.block_norms = BlockNorms::kPreAndPost;
  c.query_pre_attn_scalar = optional_positive(j, "query_pre_attn_scalar", 256.0, origin);
  // Gemma 3's attention reads attn_logit_softcapping but transformers never applies it (only the
  // final logits are capped); so neither does symtune.
  c.attn_logit_softcapping = optional_positive(j, "attn_logit_softcapping", 50.0, origin);
  if (gemma3) c.attn_logit_softcapping.reset();
  c.final_logit_softcapping =
      optional_positive(j, "final_logit_softcapping", gemma3 ? std::nullopt : std::optional(30.0), origin);
  c.sliding_window = j.contains("sliding_window") ? optional_int(j, "sliding_window", origin) : 4096;
  c.sliding_layers =
      read_sliding_layers(j, c.num_layers, gemma3 ? int_or(j, "sliding_window_pattern", 6, origin) : 2, origin);
  if (gemma3) {
    c.qk_norm = QkNorm::kPerHead;
    read_gemma3_ropes(j, c, origin);
  }
  if (bool_or(j, "use_bidirectional_attention", false, origin))
    throw Error(origin + ": use_bidirectional_attention=true is not supported (symtune's models are causal)");
}

}  // namespace

bool ties_by_default(Architecture arch) {
  return arch == Architecture::kGemma || arch == Architecture::kGemma2 || arch == Architecture::kGemma3 ||
         arch == Architecture::kSmolLM3;
}

// What differs between the families, and the options none of them implements.
void read_family_options(const json& j, ModelConfig& c, const std::string& origin) {
  switch (c.architecture) {
    case Architecture::kLlama:
      c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", false, origin);
      c.mlp_bias = bool_or(j, "mlp_bias", false, origin);
      if (int_or(j, "pretraining_tp", 1, origin) != 1) throw Error(origin + ": pretraining_tp != 1 is not supported");
      break;
    case Architecture::kMistral:
      c.sliding_window = optional_int(j, "sliding_window", origin);
      break;
    case Architecture::kQwen2:
      c.qkv_bias = true;
      read_optional_windows(j, c, origin);
      break;
    case Architecture::kQwen3:
      c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", false, origin);
      c.qk_norm = QkNorm::kPerHead;
      read_optional_windows(j, c, origin);
      break;
    case Architecture::kGemma2:
    case Architecture::kGemma3:
      read_gemma2_options(j, c, origin);
      break;
    case Architecture::kOlmo2:
      c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", false, origin);
      c.qk_norm = QkNorm::kFullWidth;
      c.block_norms = BlockNorms::kPost;
      c.norm_scale_in_fp32 = true;
      break;
    case Architecture::kSmolLM3:
      c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", false, origin);
      c.mlp_bias = bool_or(j, "mlp_bias", false, origin);
      c.rope_layers = read_rope_layers(j, c.num_layers, origin);
      read_optional_windows(j, c, origin);
      break;
    case Architecture::kPhi3:
      c.fused_projections = true;
      c.sliding_window = optional_int(j, "sliding_window", origin);
      for (const char* key : {"resid_pdrop", "embd_pdrop"})
        if (number_or(j, key, 0.0, origin) != 0.0)
          throw Error(origin + ": " + key + " " + j.at(key).dump() +
                      " is not supported (symtune trains without dropout); set it to 0.0");
      if (c.rope.type == "longrope") complete_longrope(j, c, origin);
      break;
    case Architecture::kGemma:
      c.qkv_bias = c.o_bias = bool_or(j, "attention_bias", false, origin);
      if (bool_or(j, "use_bidirectional_attention", false, origin))
        throw Error(origin + ": use_bidirectional_attention=true is not supported (symtune's models are causal)");
      c.norm_weight_offset_one = true;
      c.scale_embeddings = true;
      break;
  }
  for (const char* key : {"attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar"})
    if (c.architecture != Architecture::kGemma2 && c.architecture != Architecture::kGemma3 && present(j, key))
      throw Error(origin + ": '" + key + "' is set, which " + c.architecture_name +
                  " does not use; this config is for another architecture");
  if (c.sliding_rope && c.sliding_rope->type == "longrope")
    throw Error(origin + ": rope type 'longrope' is read for Phi3ForCausalLM only, not for " + c.architecture_name +
                "'s sliding_attention rope");
  if (c.rope.type == "longrope" && c.architecture != Architecture::kPhi3)
    throw Error(origin + ": rope type 'longrope' is read for Phi3ForCausalLM only, not " + c.architecture_name);
  // In either spelling: parse_rope leaves per-layer-type parameters to the family.
  if (c.architecture != Architecture::kGemma3 && rope_params_per_layer_type(rope_params_of(j)))
    throw Error(origin + ": 'rope_parameters' per layer type is read for Gemma 3 only, not " + c.architecture_name);
  if (number_or(j, "attention_dropout", 0.0, origin) != 0.0)
    throw Error(origin + ": attention_dropout " + j.at("attention_dropout").dump() +
                " is not supported (symtune trains without dropout); set it to 0.0");
}

}  // namespace symtune

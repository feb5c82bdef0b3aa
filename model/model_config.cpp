#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"
#include "model/config_json.h"
#include "model/model_families.h"

namespace symtune {
namespace {
using json = nlohmann::json;
using namespace config_json;

struct ArchitectureInfo {
  const char* class_name;
  const char* model_type;
  Architecture arch;
};
constexpr ArchitectureInfo kArchitectures[] = {
    {"LlamaForCausalLM", "llama", Architecture::kLlama},
    {"MistralForCausalLM", "mistral", Architecture::kMistral},
    {"Qwen2ForCausalLM", "qwen2", Architecture::kQwen2},
    {"Qwen3ForCausalLM", "qwen3", Architecture::kQwen3},
    {"GemmaForCausalLM", "gemma", Architecture::kGemma},
    {"Gemma2ForCausalLM", "gemma2", Architecture::kGemma2},
    {"Gemma3ForCausalLM", "gemma3_text", Architecture::kGemma3},
    {"Olmo2ForCausalLM", "olmo2", Architecture::kOlmo2},
    {"SmolLM3ForCausalLM", "smollm3", Architecture::kSmolLM3},
    {"Phi3ForCausalLM", "phi3", Architecture::kPhi3},
};

std::string supported_list() {
  std::string out;
  for (const auto& a : kArchitectures) out += (out.empty() ? "" : ", ") + std::string(a.class_name);
  return out + ", Gemma3ForConditionalGeneration (its text tower)";
}

// transformers 5 writes "rope_parameters" {rope_type, rope_theta, ...}; 4.x writes
// "rope_theta" plus an optional "rope_scaling" {rope_type|type, factor, ...}. Phi-3's legacy
// "su" and "yarn" types are its longrope, as transformers reads them.
RopeConfig parse_rope(const json& j, Architecture arch, const std::string& origin) {
  json params = rope_params_of(j);
  const bool per_layer_type = rope_params_per_layer_type(params);
  if (arch == Architecture::kPhi3 && params.is_object()) {
    const std::string type = string_or(params, "rope_type", string_or(params, "type", "default", origin), origin);
    if (type == "su" || type == "yarn") params["rope_type"] = "longrope";
  }
  return per_layer_type ? RopeConfig{} : read_rope_params(params, number_or(j, "rope_theta", 10000.0, origin), origin);
}

// partial_rotary_factor (in the rope parameters or at the top level): Phi's leading rotary dims,
// int(head_dim x factor) as transformers computes them; other families rotate whole heads.
void read_rotary_dim(const json& j, ModelConfig& c, const std::string& origin) {
  const json params = rope_params_of(j);
  const json flat = params.is_object() && !rope_params_per_layer_type(params) ? params : json::object();
  const double partial =
      number_or(flat, "partial_rotary_factor", number_or(j, "partial_rotary_factor", 1.0, origin), origin);
  if (partial == 1.0) return;
  if (c.architecture != Architecture::kPhi3)
    throw Error(origin + ": partial_rotary_factor " + std::to_string(partial) + " is not supported for " +
                c.architecture_name + " (only 1.0; Phi3ForCausalLM reads it)");
  const auto dims = static_cast<int64_t>(static_cast<double>(c.head_dim) * partial);
  if (!(partial > 0 && partial < 1) || dims < 2 || dims % 2 != 0)
    throw Error(origin + ": partial_rotary_factor " + std::to_string(partial) + " gives " + std::to_string(dims) +
                " rotary dims of a " + std::to_string(c.head_dim) +
                "-dim head; expected a factor in (0, 1) giving an even count");
  c.rotary_dim = dims;
}

// transformers 5 reads Gemma's activation from hidden_act only (its default gelu_pytorch_tanh);
// checkpoints written by 4.x may carry it as hidden_activation alone, which 4.x preferred. So:
// hidden_act when present, else hidden_activation, else the family's default.
// Gemma 2 reads hidden_activation only.
Activation parse_activation(const json& j, Architecture arch, const std::string& origin) {
  const bool gemma = arch == Architecture::kGemma;
  const char* key = "hidden_act";
  if (gemma && !present(j, "hidden_act") && present(j, "hidden_activation")) key = "hidden_activation";
  const bool gemma_2_or_3 = arch == Architecture::kGemma2 || arch == Architecture::kGemma3;
  if (gemma_2_or_3) key = "hidden_activation";
  std::string name = string_or(j, key, gemma || gemma_2_or_3 ? "gelu_pytorch_tanh" : "silu", origin);
  // HF maps Gemma's legacy "gelu" to the tanh approximation the model was trained with.
  if (gemma && name == "gelu") name = "gelu_pytorch_tanh";
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  throw Error(origin + ": activation '" + key + "': \"" + name +
              "\" is not supported (supported: silu, gelu_pytorch_tanh)");
}

}  // namespace

const char* architecture_model_type(Architecture arch) {
  for (const auto& a : kArchitectures)
    if (a.arch == arch) return a.model_type;
  return "?";
}

namespace {

const ArchitectureInfo& identify_architecture(const json& j, const std::string& origin) {
  if (!present(j, "architectures") || !j.at("architectures").is_array() || j.at("architectures").empty())
    throw Error(origin + ": 'architectures' is missing; expected one of: " + supported_list());
  if (!j.at("architectures").at(0).is_string())
    throw Error(origin + ": 'architectures' must be a list of class names, found " + j.at("architectures").dump());
  const std::string name = j.at("architectures").at(0).get<std::string>();
  const ArchitectureInfo* info = nullptr;
  for (const auto& a : kArchitectures)
    if (name == a.class_name) info = &a;
  if (info == nullptr)
    throw Error(origin + ": architecture '" + name + "' is not supported; supported: " + supported_list());
  const std::string model_type = string_or(j, "model_type", info->model_type, origin);
  if (model_type != info->model_type)
    throw Error(origin + ": model_type '" + model_type + "' does not match architecture " + name + " (expected '" +
                info->model_type + "')");
  return *info;
}

void read_dimensions(const json& j, ModelConfig& c, const std::string& origin) {
  c.vocab_size = require_int(j, "vocab_size", origin);
  c.hidden_size = require_int(j, "hidden_size", origin);
  c.intermediate_size = require_int(j, "intermediate_size", origin);
  c.num_layers = require_int(j, "num_hidden_layers", origin);
  c.num_heads = require_int(j, "num_attention_heads", origin);
  c.num_kv_heads = int_or(j, "num_key_value_heads", c.num_heads, origin);
  c.head_dim = int_or(j, "head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0, origin);
  c.max_position_embeddings = int_or(j, "max_position_embeddings", 2048, origin);
  c.rms_norm_eps = number_or(j, "rms_norm_eps", 1e-6, origin);
}

void read_special_tokens(const json& j, ModelConfig& c, const std::string& origin) {
  c.bos_token_id = optional_int(j, "bos_token_id", origin);
  c.pad_token_id = optional_int(j, "pad_token_id", origin);
  if (!present(j, "eos_token_id")) return;
  const json& eos = j.at("eos_token_id");
  if (eos.is_array()) {
    for (const auto& e : eos) {
      if (!e.is_number_integer())
        throw Error(origin + ": 'eos_token_id' must be an integer or a list of integers, found " + eos.dump());
      c.eos_token_ids.push_back(e.get<int64_t>());
    }
  } else {
    c.eos_token_ids.push_back(require_int(j, "eos_token_id", origin));
  }
}

}  // namespace

namespace {

bool is_gemma3_multimodal(const json& j) {
  return present(j, "architectures") && j.at("architectures").is_array() && !j.at("architectures").empty() &&
         j.at("architectures").at(0) == "Gemma3ForConditionalGeneration";
}

// The text tower of a multimodal Gemma 3 config as a Gemma3ForCausalLM config: text_config with
// Gemma3TextConfig's defaults for the keys the released configs leave out (the 4B one names only
// six), and the head tied as the top level says (default tied).
json gemma3_text_tower_config(const json& j, const std::string& origin) {
  if (!present(j, "text_config") || !j.at("text_config").is_object())
    throw Error(origin + ": Gemma3ForConditionalGeneration needs 'text_config', an object");
  json text = j.at("text_config");
  const json defaults = {{"vocab_size", 262208},      {"hidden_size", 2304},
                         {"intermediate_size", 9216}, {"num_hidden_layers", 26},
                         {"num_attention_heads", 8},  {"num_key_value_heads", 4},
                         {"head_dim", 256},           {"max_position_embeddings", 131072},
                         {"rms_norm_eps", 1e-6},      {"pad_token_id", 0},
                         {"eos_token_id", 1},         {"bos_token_id", 2}};
  // The top level's special tokens (the -it releases end turns with eos [1, 106] there) before
  // the text defaults.
  for (const char* key : {"eos_token_id", "bos_token_id", "pad_token_id"})
    if (!text.contains(key) && present(j, key)) text[key] = j.at(key);
  for (auto it = defaults.begin(); it != defaults.end(); ++it)
    if (!text.contains(it.key())) text[it.key()] = it.value();
  text["architectures"] = {"Gemma3ForCausalLM"};
  text["model_type"] = "gemma3_text";
  text["tie_word_embeddings"] = bool_or(j, "tie_word_embeddings", true, origin);
  return text;
}

}  // namespace

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(origin + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(origin + ": expected a JSON object at the top level");
  if (is_gemma3_multimodal(j)) {
    ModelConfig text = parse_model_config(gemma3_text_tower_config(j, origin).dump(2), origin + " (text_config)");
    text.multimodal_text_tower = true;
    return text;
  }
  ModelConfig c;
  c.source_json = json_text;
  try {
    const ArchitectureInfo& info = identify_architecture(j, origin);
    c.architecture = info.arch;
    c.architecture_name = info.class_name;
    read_dimensions(j, c, origin);
    c.rope = parse_rope(j, c.architecture, origin);
    if (c.head_dim > 0 && c.head_dim <= 1024) read_rotary_dim(j, c, origin);
    c.activation = parse_activation(j, c.architecture, origin);
    c.tie_word_embeddings = bool_or(j, "tie_word_embeddings", ties_by_default(c.architecture), origin);
    read_family_options(j, c, origin);
    read_special_tokens(j, c, origin);
  } catch (const json::exception& e) {
    throw Error(origin + ": unexpected value type: " + e.what());
  }
  c.validate(origin);
  return c;
}

void ModelConfig::validate(const std::string& origin) const {
  // Upper bounds far above every released model (the largest vocabularies are ~2^18, widths
  // ~2^14): they keep a damaged or hostile config from asking for tensors no machine can hold,
  // before anything is allocated, and keep the parameter count inside 64-bit arithmetic.
  auto in_range = [&](int64_t v, const char* key, int64_t max) {
    if (v <= 0 || v > max)
      throw Error(origin + ": '" + key + "' must be in [1, " + std::to_string(max) + "], found " + std::to_string(v));
  };
  in_range(vocab_size, "vocab_size", int64_t(1) << 24);
  in_range(hidden_size, "hidden_size", int64_t(1) << 16);
  in_range(intermediate_size, "intermediate_size", int64_t(1) << 20);
  in_range(num_layers, "num_hidden_layers", 1024);
  in_range(num_heads, "num_attention_heads", 1024);
  in_range(num_kv_heads, "num_key_value_heads", 1024);
  in_range(head_dim, "head_dim", 1024);
  in_range(max_position_embeddings, "max_position_embeddings", int64_t(1) << 24);
  if (num_heads % num_kv_heads != 0)
    throw Error(origin + ": num_attention_heads (" + std::to_string(num_heads) +
                ") must be a multiple of num_key_value_heads (" + std::to_string(num_kv_heads) + ")");
  if (head_dim % 2 != 0) throw Error(origin + ": head_dim must be even for rotary embeddings");
  if (!(rms_norm_eps > 0)) throw Error(origin + ": 'rms_norm_eps' must be positive");
  if (!(rope.theta > 0)) throw Error(origin + ": 'rope_theta' must be positive");
  if (sliding_window && *sliding_window <= 0) throw Error(origin + ": 'sliding_window' must be positive or null");
}

int64_t ModelConfig::num_parameters() const {
  const int64_t C = hidden_size, F = intermediate_size, D = head_dim;
  int64_t attn = C * num_heads * D + 2 * C * num_kv_heads * D + num_heads * D * C;
  if (qkv_bias) attn += num_heads * D + 2 * num_kv_heads * D;
  if (o_bias) attn += C;
  if (qk_norm == QkNorm::kPerHead) attn += 2 * D;
  if (qk_norm == QkNorm::kFullWidth) attn += (num_heads + num_kv_heads) * D;
  int64_t mlp = 3 * C * F + (mlp_bias ? 2 * F + C : 0);
  int64_t block = attn + mlp + (block_norms == BlockNorms::kPreAndPost ? 4 : 2) * C;
  return vocab_size * C * (tie_word_embeddings ? 1 : 2) + num_layers * block + C;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  const std::filesystem::path dir = config_json.parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir)) throw Error(dir.string() + ": model directory not found");
  if (!std::filesystem::exists(config_json))
    throw Error(config_json.string() + ": not found (a model directory needs an HF config.json)");
  return parse_model_config(read_text_file(config_json), config_json.string());
}

std::string model_config_to_json(const ModelConfig& c, const std::string& dtype_name) {
  json j = c.source_json.empty() ? json::object() : json::parse(c.source_json);
  // transformers finds the class by model_type; a config written by hand may leave it out.
  if (!j.contains("model_type")) j["model_type"] = architecture_model_type(c.architecture);
  if (c.source_json.empty()) {
    j["architectures"] = {c.architecture_name};
    j["model_type"] = architecture_model_type(c.architecture);
    j["vocab_size"] = c.vocab_size;
    j["hidden_size"] = c.hidden_size;
    j["intermediate_size"] = c.intermediate_size;
    j["num_hidden_layers"] = c.num_layers;
    j["num_attention_heads"] = c.num_heads;
    j["num_key_value_heads"] = c.num_kv_heads;
    j["head_dim"] = c.head_dim;
    j["max_position_embeddings"] = c.max_position_embeddings;
    j["rms_norm_eps"] = c.rms_norm_eps;
    j["rope_theta"] = c.rope.theta;
    if (c.rope.type == "llama3")
      j["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", c.rope.factor},
                           {"low_freq_factor", c.rope.low_freq_factor},
                           {"high_freq_factor", c.rope.high_freq_factor},
                           {"original_max_position_embeddings", c.rope.original_max_position_embeddings}};
    j["hidden_act"] = c.activation == Activation::kSilu ? "silu" : "gelu_pytorch_tanh";
    j["tie_word_embeddings"] = c.tie_word_embeddings;
    if (c.architecture == Architecture::kLlama) {
      j["attention_bias"] = c.qkv_bias;
      j["mlp_bias"] = c.mlp_bias;
    }
    if (c.sliding_window) j["sliding_window"] = *c.sliding_window;
    if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
    if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
    else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
    if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  }
  // transformers 5 reads "dtype"; 4.x reads "torch_dtype". Write both so either loads it.
  j["dtype"] = dtype_name;
  j["torch_dtype"] = dtype_name;
  return j.dump(2) + "\n";
}

}  // namespace symtune

// ModelConfig: the architecture of a decoder-only transformer, read from a Hugging Face
// `config.json` (transformers 4.x and 5.x spellings) and written back for export.
// Covers LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and GemmaForCausalLM as HF
// transformers defines them; any option that would change the maths and that we do not
// implement is refused by name rather than approximated.
// Must not include data/ or trainer/. No torch here: the config is plain data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace symtune {

enum class Architecture { kLlama, kMistral, kQwen2, kGemma };

enum class Activation { kSilu, kGeluTanh };

struct RopeConfig {
  std::string type = "default";  // "default" or "llama3"
  double theta = 10000.0;
  // llama3 frequency scaling (Llama 3.1): only read when type == "llama3".
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  std::string architecture_name = "LlamaForCausalLM";  // as written in config.json
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // C
  int64_t intermediate_size = 0;  // F, width of the gated MLP
  int64_t num_layers = 0;         // L
  int64_t num_heads = 0;          // H, query heads
  int64_t num_kv_heads = 0;       // key/value heads (grouped-query attention when < H)
  int64_t head_dim = 0;           // D
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  Activation activation = Activation::kSilu;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2 always; Llama when attention_bias is true
  bool o_bias = false;    // Llama attention_bias also adds a bias to o_proj
  bool mlp_bias = false;  // Llama mlp_bias
  // Gemma: RMSNorm scales by (1 + w), computed in fp32, and embeddings are scaled by sqrt(C).
  bool norm_weight_offset_one = false;
  bool scale_embeddings = false;
  // Mistral: a key is visible to a query only if it is fewer than this many tokens back.
  std::optional<int64_t> sliding_window;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  // The config.json text this was read from, kept so an export writes back every key the
  // user's tools expect (we only rewrite the dtype). Empty for models we create.
  std::string source_json;

  // Throws Error naming `origin` and the offending key when the config is inconsistent.
  void validate(const std::string& origin) const;
  int64_t num_parameters() const;
  std::optional<int64_t> first_eos_token_id() const {
    return eos_token_ids.empty() ? std::nullopt : std::optional<int64_t>(eos_token_ids[0]);
  }
};

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin);
ModelConfig load_model_config(const std::filesystem::path& config_json);

// config.json text for `config` with "dtype"/"torch_dtype" set to `dtype_name`
// ("float32" or "bfloat16"). Starts from source_json when there is one.
std::string model_config_to_json(const ModelConfig& config, const std::string& dtype_name);

const char* architecture_model_type(Architecture arch);

}  // namespace symtune

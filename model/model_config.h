// ModelConfig: the architecture of a decoder-only transformer, read from a Hugging Face
// `config.json` (transformers 4.x and 5.x spellings) and written back for export.
// Covers LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM,
// GemmaForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM (text), Olmo2ForCausalLM,
// SmolLM3ForCausalLM and Phi3ForCausalLM as HF transformers defines them; any option that would change the maths and
// that we do not implement is refused by name rather than approximated. Must not include data/ or trainer/. No torch
// here: the config is plain data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace symtune {

enum class Architecture { kLlama, kMistral, kQwen2, kQwen3, kGemma, kGemma2, kGemma3, kOlmo2, kSmolLM3, kPhi3 };

// Where a block's RMSNorms sit: before attention and before the MLP (Llama and most families),
// on the attention and MLP outputs before each residual add (OLMo 2), or both (Gemma 2).
enum class BlockNorms { kPre, kPost, kPreAndPost };

// RMSNorm of the query and key projections: none, over each head (Qwen3: weights of head_dim)
// or over the whole projection (OLMo 2: weights of heads x head_dim).
enum class QkNorm { kNone, kPerHead, kFullWidth };

enum class Activation { kSilu, kGeluTanh };

struct RopeConfig {
  std::string type = "default";  // "default", "linear" (frequencies / factor), "llama3" or "longrope"
  double theta = 10000.0;
  // llama3 frequency scaling (Llama 3.1): only read when type == "llama3".
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;  // llama3 and longrope
  // longrope (Phi-3, Phi-4-mini): each frequency divided by its short factor, or by its long
  // factor in a forward whose last position reaches past original_max_position_embeddings; cos
  // and sin scaled by attention_factor.
  std::vector<double> short_factor, long_factor;
  double attention_factor = 1.0;
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
  // The leading dims of each head that rotate (Phi's partial_rotary_factor); 0 = all of them.
  int64_t rotary_dim = 0;
  int64_t rotary_dims() const { return rotary_dim > 0 ? rotary_dim : head_dim; }
  // Phi-3: q, k and v as one qkv_proj, gate and up as one gate_up_proj, in the checkpoint and in
  // the optimizer (one factored matrix each, as transformers trains them).
  bool fused_projections = false;
  Activation activation = Activation::kSilu;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2 always; Llama when attention_bias is true
  bool o_bias = false;    // Llama attention_bias also adds a bias to o_proj
  bool mlp_bias = false;  // Llama mlp_bias
  BlockNorms block_norms = BlockNorms::kPre;
  QkNorm qk_norm = QkNorm::kNone;  // applied before the rotary embedding
  // SmolLM3's no_rope_layers: 1 = rotary embedding in that layer, 0 = none. Empty: all rotary.
  std::vector<int64_t> rope_layers;
  bool layer_uses_rope(int64_t layer) const {
    return rope_layers.empty() || rope_layers[static_cast<size_t>(layer)] != 0;
  }
  // Gemma: RMSNorm scales by (1 + w), computed in fp32, and embeddings are scaled by sqrt(C).
  bool norm_weight_offset_one = false;
  bool scale_embeddings = false;
  // OLMo 2: RMSNorm multiplies by w in fp32, then casts (Llama casts, then multiplies).
  bool norm_scale_in_fp32 = false;
  // Mistral, Phi-3 and the sliding layers of Gemma 2/3, Qwen2/3 and SmolLM3: a key is visible to
  // a query only if it is fewer than this many tokens back.
  std::optional<int64_t> sliding_window;
  // layer_types (Gemma 2/3, Qwen2/3, SmolLM3): 1 = the layer uses sliding_window, 0 = full
  // attention. Empty: every layer uses sliding_window when there is one (Mistral, Phi-3).
  std::vector<int64_t> sliding_layers;
  std::optional<int64_t> window_of_layer(int64_t layer) const {
    if (!sliding_layers.empty() && sliding_layers[static_cast<size_t>(layer)] == 0) return std::nullopt;
    return sliding_window;
  }
  // Gemma 3: the rotary embedding of the sliding layers (rope_local_base_freq), when it differs
  // from `rope`, which the full-attention layers use.
  std::optional<RopeConfig> sliding_rope;
  bool is_sliding_layer(int64_t layer) const {
    return !sliding_layers.empty() && sliding_layers[static_cast<size_t>(layer)] != 0;
  }
  bool uses_sliding_rope(int64_t layer) const { return sliding_rope && is_sliding_layer(layer); }
  // Gemma 2: attention scores scaled by query_pre_attn_scalar^-1/2 (else head_dim^-1/2), and
  // scores and final logits soft-capped as cap * tanh(x / cap).
  std::optional<double> query_pre_attn_scalar;
  std::optional<double> attn_logit_softcapping;
  std::optional<double> final_logit_softcapping;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  // Read from a multimodal Gemma3ForConditionalGeneration: its text_config (as a
  // Gemma3ForCausalLM config, which an export writes), whose weights carry a language-model
  // prefix ("model.language_model." in 5.x, "language_model.model." in 4.x) beside a vision
  // tower that is left unread.
  bool multimodal_text_tower = false;
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

#include "model/gguf_import.h"

#include <ATen/ATen.h>

#include <map>
#include <optional>

#include "common/error.h"
#include "common/progress.h"
#include "common/stop_signal.h"

namespace symtune {
using json = nlohmann::json;

namespace {

const json& require(const GgufFile& f, const std::string& key) {
  if (!f.metadata().contains(key)) throw Error(f.path().string() + ": metadata '" + key + "' is missing");
  return f.metadata()[key];
}

int64_t require_int(const GgufFile& f, const std::string& key) {
  const json& v = require(f, key);
  if (!v.is_number_integer())
    throw Error(f.path().string() + ": metadata '" + key + "' must be an integer, found " + v.dump());
  return v.get<int64_t>();
}

std::optional<int64_t> optional_int(const GgufFile& f, const std::string& key) {
  if (!f.metadata().contains(key) || !f.metadata()[key].is_number_integer()) return std::nullopt;
  return f.metadata()[key].get<int64_t>();
}

// llama.cpp's permute for q/k (rows grouped (head, half, pair) -> (head, pair, half)) undone.
at::Tensor unpermute_rotary_rows(const at::Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0);
  std::vector<int64_t> shape{heads, rows / heads / 2, 2};
  for (int64_t d = 1; d < w.dim(); ++d) shape.push_back(w.size(d));
  return w.reshape(shape).transpose(1, 2).reshape(w.sizes()).contiguous();
}

}  // namespace

ModelConfig gguf_model_config(const GgufFile& f) {
  const std::string arch = require(f, "general.architecture").get<std::string>();
  if (arch != "llama")
    throw Error(f.path().string() + ": GGUF architecture '" + arch + "' is not supported (llama is)");
  if (f.metadata().contains("llama.rope.scaling.type") && f.metadata()["llama.rope.scaling.type"] != "none")
    throw Error(f.path().string() + ": rope scaling '" + f.metadata()["llama.rope.scaling.type"].dump() +
                "' is not supported in GGUF import");
  ModelConfig c;
  c.architecture = Architecture::kLlama;
  c.architecture_name = "LlamaForCausalLM";
  c.hidden_size = require_int(f, "llama.embedding_length");
  c.intermediate_size = require_int(f, "llama.feed_forward_length");
  c.num_layers = require_int(f, "llama.block_count");
  c.num_heads = require_int(f, "llama.attention.head_count");
  c.num_kv_heads = optional_int(f, "llama.attention.head_count_kv").value_or(c.num_heads);
  c.head_dim = optional_int(f, "llama.attention.key_length").value_or(c.hidden_size / c.num_heads);
  c.max_position_embeddings = optional_int(f, "llama.context_length").value_or(2048);
  if (f.metadata().contains("llama.attention.layer_norm_rms_epsilon"))
    c.rms_norm_eps = f.metadata()["llama.attention.layer_norm_rms_epsilon"].get<double>();
  if (f.metadata().contains("llama.rope.freq_base")) c.rope.theta = f.metadata()["llama.rope.freq_base"].get<double>();
  const GgufTensorInfo* embed = f.find("token_embd.weight");
  if (embed == nullptr) throw Error(f.path().string() + ": tensor 'token_embd.weight' is missing");
  c.vocab_size = optional_int(f, "llama.vocab_size").value_or(embed->dims.at(1));
  c.tie_word_embeddings = f.find("output.weight") == nullptr;
  c.bos_token_id = optional_int(f, "tokenizer.ggml.bos_token_id");
  if (auto eos = optional_int(f, "tokenizer.ggml.eos_token_id")) c.eos_token_ids = {*eos};
  c.pad_token_id = optional_int(f, "tokenizer.ggml.padding_token_id");
  c.validate(f.path().string());
  return c;
}

std::unique_ptr<Transformer> import_gguf(const GgufFile& f, bool show_progress) {
  const ModelConfig c = gguf_model_config(f);
  std::map<std::string, std::string> hf_to_gguf{{"model.embed_tokens.weight", "token_embd.weight"},
                                                {"model.norm.weight", "output_norm.weight"},
                                                {"lm_head.weight", "output.weight"}};
  const std::map<std::string, std::string> per_layer{
      {"input_layernorm.weight", "attn_norm.weight"},    {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},       {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  for (int64_t i = 0; i < c.num_layers; ++i)
    for (const auto& [hf, gg] : per_layer)
      hf_to_gguf["model.layers." + std::to_string(i) + "." + hf] = "blk." + std::to_string(i) + "." + gg;

  // Every GGUF tensor must be used (rope_freqs aside, which llama3 files carry and we recompute).
  std::map<std::string, bool> used;
  for (const auto& t : f.tensors()) used[t.name] = t.name == "rope_freqs.weight";
  TransformerWeights w;
  std::optional<Progress> progress;
  if (show_progress)
    progress.emplace("convert " + f.path().filename().string(), "tensors", int64_t(expected_tensors(c).size()));
  for (const WeightSlot& slot : weight_slots(c, w)) {
    throw_if_stop_requested(f.path().string() + ": converting");
    if (progress) progress->advance();
    const std::string& name = slot.name;
    const std::string gg = hf_to_gguf.at(name);
    if (f.find(gg) == nullptr) throw Error(f.path().string() + ": tensor '" + gg + "' (for " + name + ") is missing");
    at::Tensor value = f.load_fp32(gg);
    if (value.sizes() != at::IntArrayRef(slot.shape))
      throw Error(f.path().string() + ": tensor '" + gg + "' has shape " + c10::str(value.sizes()) +
                  ", the metadata implies " + c10::str(at::IntArrayRef(slot.shape)));
    if (name.find("q_proj") != std::string::npos) value = unpermute_rotary_rows(value, c.num_heads);
    if (name.find("k_proj") != std::string::npos) value = unpermute_rotary_rows(value, c.num_kv_heads);
    *slot.tensor = value;
    used[gg] = true;
  }
  for (const auto& [name, was_used] : used)
    if (!was_used) throw Error(f.path().string() + ": unexpected tensor '" + name + "' for a llama model");
  return std::make_unique<Transformer>(c, std::move(w));
}

}  // namespace symtune

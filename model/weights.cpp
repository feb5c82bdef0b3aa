#include "model/weights.h"

#include <map>

#include <ATen/ATen.h>

namespace symtune {

namespace {

// The tensors of block i, in checkpoint order.
void add_block_slots(const ModelConfig& c, int64_t i, BlockWeights& b, std::vector<WeightSlot>& out) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, HD = c.num_heads * c.head_dim,
                KD = c.num_kv_heads * c.head_dim;
  const std::string p = "model.layers." + std::to_string(i) + ".";
  auto add = [&](const char* name, std::vector<int64_t> shape, WeightRole role, at::Tensor& t) {
    out.push_back({p + name, std::move(shape), role, i, &t});
  };
  using R = WeightRole;
  const bool pre = c.block_norms != BlockNorms::kPost, post = c.block_norms != BlockNorms::kPre;
  if (pre) add("input_layernorm.weight", {C}, R::kNorm, b.pre_attention_norm_C);
  if (c.fused_projections) {
    add("self_attn.qkv_proj.weight", {HD + 2 * KD, C}, R::kMatrix, b.qkv_proj_fused);
  } else {
    add("self_attn.q_proj.weight", {HD, C}, R::kMatrix, b.q_proj_HDxC);
    add("self_attn.k_proj.weight", {KD, C}, R::kMatrix, b.k_proj_KDxC);
    add("self_attn.v_proj.weight", {KD, C}, R::kMatrix, b.v_proj_KDxC);
  }
  add("self_attn.o_proj.weight", {C, HD}, R::kMatrix, b.o_proj_CxHD);
  if (c.qkv_bias) {
    add("self_attn.q_proj.bias", {HD}, R::kBias, b.q_bias_HD);
    add("self_attn.k_proj.bias", {KD}, R::kBias, b.k_bias_KD);
    add("self_attn.v_proj.bias", {KD}, R::kBias, b.v_bias_KD);
  }
  if (c.o_bias) add("self_attn.o_proj.bias", {C}, R::kBias, b.o_bias_C);
  if (c.qk_norm != QkNorm::kNone) {
    const bool per_head = c.qk_norm == QkNorm::kPerHead;
    add("self_attn.q_norm.weight", {per_head ? c.head_dim : HD}, R::kNorm, b.q_norm);
    add("self_attn.k_norm.weight", {per_head ? c.head_dim : KD}, R::kNorm, b.k_norm);
  }
  // The same checkpoint name is the pre-MLP norm in Llama and the attention-output norm in OLMo 2
  // and Gemma 2 (whose pre-MLP norm is pre_feedforward_layernorm).
  add("post_attention_layernorm.weight", {C}, R::kNorm, post ? b.post_attention_norm_C : b.pre_mlp_norm_C);
  if (pre && post) add("pre_feedforward_layernorm.weight", {C}, R::kNorm, b.pre_mlp_norm_C);
  if (c.fused_projections) {
    add("mlp.gate_up_proj.weight", {2 * F, C}, R::kMatrix, b.gate_up_proj_fused);
  } else {
    add("mlp.gate_proj.weight", {F, C}, R::kMatrix, b.gate_proj_FxC);
    add("mlp.up_proj.weight", {F, C}, R::kMatrix, b.up_proj_FxC);
  }
  add("mlp.down_proj.weight", {C, F}, R::kMatrix, b.down_proj_CxF);
  if (c.mlp_bias) {
    add("mlp.gate_proj.bias", {F}, R::kBias, b.gate_bias_F);
    add("mlp.up_proj.bias", {F}, R::kBias, b.up_bias_F);
    add("mlp.down_proj.bias", {C}, R::kBias, b.down_bias_C);
  }
  if (post) add("post_feedforward_layernorm.weight", {C}, R::kNorm, b.post_mlp_norm_C);
}

}  // namespace

std::vector<WeightSlot> weight_slots(const ModelConfig& c, TransformerWeights& w) {
  w.blocks.resize(c.num_layers);
  std::vector<WeightSlot> slots;
  slots.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, WeightRole::kMatrix, -1, &w.embed_VxC});
  for (int64_t i = 0; i < c.num_layers; ++i) add_block_slots(c, i, w.blocks[i], slots);
  slots.push_back({"model.norm.weight", {c.hidden_size}, WeightRole::kNorm, -1, &w.final_norm_C});
  if (!c.tie_word_embeddings)
    slots.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}, WeightRole::kMatrix, -1, &w.lm_head_VxC});
  return slots;
}

std::vector<TensorSpec> expected_tensors(const ModelConfig& config) {
  TransformerWeights unused;
  std::vector<TensorSpec> specs;
  for (const WeightSlot& s : weight_slots(config, unused)) specs.push_back({s.name, s.shape});
  return specs;
}

void draw_random_weights(const ModelConfig& config, uint64_t seed,
                         const std::function<void(const WeightSlot&, const at::Tensor&)>& take) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  TransformerWeights scratch;                                           // only for the slots' order, names and shapes
  const float norm_init = config.norm_weight_offset_one ? 0.0f : 1.0f;  // Gemma scales by (1 + w)
  for (const WeightSlot& s : weight_slots(config, scratch)) {
    at::Tensor t;
    switch (s.role) {
      case WeightRole::kNorm:
        t = at::full(s.shape, norm_init, at::kFloat);
        break;
      case WeightRole::kBias:
        t = at::zeros(s.shape, at::kFloat);
        break;
      case WeightRole::kMatrix:
        t = at::empty(s.shape, at::kFloat).normal_(0.0, 0.02, gen);
        break;
    }
    take(s, t);
  }
}

TransformerWeights init_random_weights(const ModelConfig& config, uint64_t seed, at::ScalarType dtype) {
  TransformerWeights weights;
  std::map<std::string, at::Tensor*> slot_of;
  for (const WeightSlot& s : weight_slots(config, weights)) slot_of[s.name] = s.tensor;
  draw_random_weights(config, seed,
                      [&](const WeightSlot& s, const at::Tensor& t) { *slot_of.at(s.name) = t.to(dtype); });
  return weights;
}

}  // namespace symtune

// The weights of a decoder-only transformer and the one list that declares them. weight_slots()
// names every tensor a checkpoint of a config holds, in a fixed order, with its shape, its role
// and the member it fills; loading (safetensors, GGUF), random initialisation, export, the
// optimizer's parameter list and activation checkpointing all read that list, so a family's
// tensors are declared once.
// Must not include data/ or trainer/.
//
// Shape legend: V vocabulary, C hidden size, H query heads, K key/value heads, D head dim,
// F MLP width.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace symtune {

// A norm, bias or q/k norm the family does not have stays undefined.
struct BlockWeights {
  at::Tensor pre_attention_norm_C;  // input_layernorm (BlockNorms::kPre)
  at::Tensor q_proj_HDxC, k_proj_KDxC, v_proj_KDxC, o_proj_CxHD;
  at::Tensor q_bias_HD, k_bias_KD, v_bias_KD, o_bias_C;
  at::Tensor q_norm, k_norm;         // [D] per head (Qwen3) or [H D] / [K D] (OLMo 2)
  at::Tensor post_attention_norm_C;  // on the attention output (BlockNorms::kPost)
  at::Tensor pre_mlp_norm_C;         // Llama's post_attention_layernorm (BlockNorms::kPre)
  at::Tensor post_mlp_norm_C;        // post_feedforward_layernorm (BlockNorms::kPost)
  at::Tensor gate_proj_FxC, up_proj_FxC, down_proj_CxF;
  at::Tensor gate_bias_F, up_bias_F, down_bias_C;  // undefined unless mlp_bias
  // Phi-3 (ModelConfig::fused_projections), instead of q/k/v_proj and gate/up_proj: rows q, k, v
  // and rows gate, up.
  at::Tensor qkv_proj_fused, gate_up_proj_fused;
};

struct TransformerWeights {
  at::Tensor embed_VxC;
  std::vector<BlockWeights> blocks;
  at::Tensor final_norm_C;
  at::Tensor lm_head_VxC;  // undefined when the head is tied to embed_VxC
};

// What a tensor is, which decides its initial value.
enum class WeightRole { kMatrix, kBias, kNorm };

struct WeightSlot {
  std::string name;  // HF checkpoint name, e.g. "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  WeightRole role;
  int64_t layer;       // the block it belongs to; -1 outside the blocks
  at::Tensor* tensor;  // the member of the TransformerWeights passed in
};

// Every tensor of `config`, in checkpoint order; `weights.blocks` is resized to the layer count
// and the slots point into it (valid while `weights` is neither moved nor resized).
std::vector<WeightSlot> weight_slots(const ModelConfig& config, TransformerWeights& weights);

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};
// Names and shapes of weight_slots(), for checks that need no tensors.
std::vector<TensorSpec> expected_tensors(const ModelConfig& config);

// Fresh weights for training from scratch: normal(0, 0.02) matrices, unit norms (zero for
// Gemma's (1 + w) norms), zero biases; drawn in fp32 in slot order, deterministic in `seed`,
// then cast to `dtype`.
TransformerWeights init_random_weights(const ModelConfig& config, uint64_t seed, at::ScalarType dtype);
// The same draws, handed to take(slot, fp32 tensor) one tensor at a time (a rank of a sharded
// run keeps its range of each and never holds the whole model).
void draw_random_weights(const ModelConfig& config, uint64_t seed,
                         const std::function<void(const WeightSlot&, const at::Tensor&)>& take);

}  // namespace symtune

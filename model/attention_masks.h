// The attention patterns of one forward (which keys each query may see) and the soft-capped
// attention that SDPA cannot compute. Internal to model/: transformer.cpp is the one user.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

#include "model/model_config.h"

namespace symtune {

// How queries may see keys in one forward: either the plain causal pattern (SDPA's
// is_causal, which lets CUDA pick its fast kernels) or an explicit boolean mask.
struct AttentionLayout {
  at::Tensor allowed_B1TS;  // undefined => causal over the row
};

// allowed[q, k] = k <= q, within the sliding window, and in the same segment; undefined (plain
// causal) where nothing more than causality is needed.
AttentionLayout make_layout(int64_t T, int64_t past, const std::optional<at::Tensor>& segment_ids_BT,
                            std::optional<int64_t> window, c10::Device device);

// The layouts of one forward: full attention, and the sliding window's when the model has one
// (every layer in Mistral and Phi-3, the layers layer_types names in Gemma 2 and 3, Qwen and SmolLM3).
struct LayerLayouts {
  AttentionLayout full, windowed;
  LayerLayouts(const ModelConfig& c, int64_t T, int64_t past, const std::optional<at::Tensor>& segments_BT,
               c10::Device device);
  // Rows of different lengths: key k is allowed where it is attendable and its position is no
  // later than the query's (and within the window): positions, not slots, order the row.
  LayerLayouts(const ModelConfig& c, const at::Tensor& q_pos_BT, const at::Tensor& k_pos_BS,
               const at::Tensor& k_attendable_BS);
  const AttentionLayout& of(const ModelConfig& c, int64_t layer) const {
    return c.window_of_layer(layer) ? windowed : full;
  }
};

// Attention with soft-capped scores as transformers computes it for Gemma 2 (SDPA has no cap):
// cap * tanh(q.k * scale / cap), masked, softmax in fp32, cast back; key/value heads repeated
// for grouped queries. An undefined `allowed_B1TS` means causal (or all keys, for one query).
at::Tensor softcapped_attention(const at::Tensor& q_BHTD, const at::Tensor& k_BKSD, const at::Tensor& v_BKSD,
                                const at::Tensor& allowed_B1TS, double scale, double cap);

}  // namespace symtune

// How much memory a training forward keeps for backward, so the trainer can turn activation
// checkpointing on only when the activations would not fit (model.activation_checkpointing =
// "auto"). An estimate from the tensors each block saves (see the formula in the .cpp); on the
// H200, a 124M Llama at 16 x 2560 tokens measured 33 KB per token and layer against 31.7 KB
// estimated.
// Must not include data/ or trainer/.
#pragma once

#include <cstdint>

#include "model/model_config.h"

namespace symtune {

// Bytes one layer keeps per token: `element_bytes` per activation element (2 for bf16), plus
// the fp32 copies the reference RMSNorm keeps (fused_rms_norm = false).
int64_t activation_bytes_per_token_per_layer(const ModelConfig& config, int64_t element_bytes, bool fused_rms_norm);

struct CheckpointingDecision {
  bool on = false;
  double activation_gib = 0;  // estimated without checkpointing, for one micro-batch
  double available_gib = 0;   // free memory left for activations
};

// Checkpointing is needed when the activations of a micro-batch of `tokens` tokens, with a
// 15% margin, exceed `free_bytes` less the gradients (`gradient_bytes`) and a reserve of 1 GiB
// plus 5% of `total_bytes` for workspaces and fragmentation.
CheckpointingDecision decide_activation_checkpointing(const ModelConfig& config, int64_t tokens, int64_t element_bytes,
                                                      bool fused_rms_norm, int64_t gradient_bytes, int64_t free_bytes,
                                                      int64_t total_bytes);

}  // namespace symtune

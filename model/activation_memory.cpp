#include "model/activation_memory.h"

namespace symtune {

int64_t activation_bytes_per_token_per_layer(const ModelConfig& c, int64_t element_bytes, bool fused_rms_norm) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, HD = c.num_heads * c.head_dim,
                KD = c.num_kv_heads * c.head_dim;
  // Saved for backward, per token: the two normalised inputs (C each), rotated queries (HD),
  // keys and values (2 KD), the attention output (HD), and in the MLP the gate, its activation,
  // the up projection and their product (4 F). The reference RMSNorm also keeps its fp32 input
  // (4 bytes x C, twice); the fused one only the input in the compute dtype.
  const int64_t saved = element_bytes * (2 * C + 2 * HD + 2 * KD + 4 * F);
  const int64_t norms = fused_rms_norm ? 2 * element_bytes * C : 2 * 4 * C;
  return saved + norms;
}

CheckpointingDecision decide_activation_checkpointing(const ModelConfig& c, int64_t tokens, int64_t element_bytes,
                                                      bool fused_rms_norm, int64_t gradient_bytes, int64_t free_bytes,
                                                      int64_t total_bytes) {
  constexpr double kGiB = double(1ull << 30);
  CheckpointingDecision d;
  const double activations = 1.15 * static_cast<double>(tokens) * c.num_layers *
                             activation_bytes_per_token_per_layer(c, element_bytes, fused_rms_norm);
  const double reserve = kGiB + 0.05 * static_cast<double>(total_bytes);
  const double available = static_cast<double>(free_bytes) - static_cast<double>(gradient_bytes) - reserve;
  d.activation_gib = activations / kGiB;
  d.available_gib = available / kGiB;
  d.on = activations > available;
  return d;
}

}  // namespace symtune

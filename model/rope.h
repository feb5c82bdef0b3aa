// Rotary position embeddings (Su et al. 2021, "RoFormer") in the "rotate half" layout that
// HF transformers uses for the Llama family, with the default frequencies, linear scaling, the
// llama3 frequency scaling (Llama 3.1 report) and longrope (Phi-3), on all of each head or on its
// leading rotary dims (partial rotary). Tables are computed in fp32 from explicit position
// ids, so packed examples whose positions restart at 0 get the same rotation as unpacked ones.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include "model/model_config.h"

namespace symtune {

// inv_freq[D/2] in fp32 on `device`, following HF's formulas bit for bit where they matter.
at::Tensor rope_inverse_frequencies(const ModelConfig& config, c10::Device device);
at::Tensor rope_inverse_frequencies(const RopeConfig& rope, int64_t rotary_dims, c10::Device device);
// longrope's long-factor frequencies (undefined for other rope types): transformers takes them
// for a forward whose largest position + 1 exceeds original_max_position_embeddings.
at::Tensor rope_long_inverse_frequencies(const ModelConfig& config, c10::Device device);

struct RopeTables {
  at::Tensor cos_B1TD;  // in the compute dtype, broadcast over heads
  at::Tensor sin_B1TD;
};

// position_ids_BT: int64. Returns cos/sin of cat(freqs, freqs) (times attention_factor) in `dtype`.
RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids_BT, at::ScalarType dtype,
                       double attention_factor = 1.0);

// x_BHTD * cos + rotate_half(x_BHTD) * sin over the tables' width (the leading dims of each head
// when it is less than D; the others pass through)
at::Tensor apply_rope(const at::Tensor& x_BHTD, const RopeTables& tables);

}  // namespace symtune

// Rotary position embeddings (Su et al. 2021, "RoFormer") in the "rotate half" layout that
// HF transformers uses for the Llama family, with the default frequencies and the llama3
// frequency scaling (Llama 3.1 report). Tables are computed in fp32 from explicit position
// ids, so packed examples whose positions restart at 0 get the same rotation as unpacked ones.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include "model/model_config.h"

namespace symtune {

// inv_freq[D/2] in fp32 on `device`, following HF's formulas bit for bit where they matter.
at::Tensor rope_inverse_frequencies(const ModelConfig& config, c10::Device device);
at::Tensor rope_inverse_frequencies(const RopeConfig& rope, int64_t head_dim, c10::Device device);

struct RopeTables {
  at::Tensor cos_B1TD;  // in the compute dtype, broadcast over heads
  at::Tensor sin_B1TD;
};

// position_ids_BT: int64. Returns cos/sin of cat(freqs, freqs) in `dtype`.
RopeTables rope_tables(const at::Tensor& inv_freq, const at::Tensor& position_ids_BT, at::ScalarType dtype);

// x_BHTD * cos + rotate_half(x_BHTD) * sin
at::Tensor apply_rope(const at::Tensor& x_BHTD, const RopeTables& tables);

}  // namespace symtune

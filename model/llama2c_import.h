// Import of llama2.c checkpoints (Karpathy's legacy fp32 `.bin`: seven little-endian int32
// {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}, then the weights;
// a negative vocab_size means a separate classifier follows). llama2.c rotates interleaved
// pairs while HF rotates halves, so the rows of wq and wk are permuted on the way in.
// Must not include data/ or trainer/.
#pragma once

#include <filesystem>
#include <memory>

#include "model/transformer.h"

namespace symtune {

std::unique_ptr<Transformer> import_llama2c(const std::filesystem::path& checkpoint);

}  // namespace symtune

// Cross-entropy of the output projection without the [N, V] fp32 logits in memory: the rows
// are taken a chunk at a time, each chunk's logits formed, reduced to the target's
// log-probability, and dropped; backward forms them again, chunk by chunk, for the gradients
// of the hidden states and of the projection. Memory: a few chunk x V floats at a time
// instead of the reference's N x V log-probabilities kept from forward to backward, for one
// more projection matmul in backward. Per row the reference's own ops (linear in the model's
// dtype, fp32 log_softmax and its backward); the sums over rows (the loss, the projection's
// gradient, accumulated in fp32 chunk by chunk) are ordered differently, so results agree to
// rounding. One chunk saves nothing: callers take the reference for rows <= chunk_rows.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace symtune {

// Sum over rows of -log softmax(hidden_NC weight_VC^T)[labels_N], fp32 scalar; differentiable
// in hidden_NC and weight_VC. Every label must be a valid class (no ignore index).
at::Tensor chunked_cross_entropy_sum(const at::Tensor& hidden_NC, const at::Tensor& weight_VC,
                                     const at::Tensor& labels_N, int64_t chunk_rows);

// Rows per chunk for a vocabulary: about 32M logits (128 MB in fp32), at least 64 rows.
int64_t cross_entropy_chunk_rows(int64_t vocab_size);

}  // namespace symtune

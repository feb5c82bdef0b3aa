// Which implementation runs the model's hot spots. The reference ops follow HF transformers
// operation for operation (they are what the parity tests pin down); the fast ones run on
// CUDA and are tested against the reference there. "auto" takes the fast one where it applies.
// Must not include data/ or trainer/.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/config_table.h"

namespace symtune {

struct KernelOptions {
  // Packed rows: "sdpa_mask" builds a [B, 1, T, T] segment mask for SDPA (any device);
  // "flash_varlen" runs FlashAttention's variable-length kernel (model/varlen_attention.h;
  // off CUDA the same function segment by segment, slowly: for tests); "auto" = flash_varlen
  // where FlashAttention runs, sdpa_mask elsewhere.
  enum class Attention { kAuto, kSdpaMask, kFlashVarlen } attention = Attention::kAuto;
  // "reference": HF's fp32 formula in separate ops; "fused": at::rms_norm (one CUDA kernel
  // forward and one backward, fp32 inside, rounded once). Gemma's (1 + w) norm is always reference.
  enum class RmsNorm { kAuto, kReference, kFused } rms_norm = RmsNorm::kAuto;
  // "fused": symtune's own CUDA kernels for silu(gate) * up and for rotary embeddings in the
  // variable-length path (model/fused_elementwise.h); "reference": LibTorch ops. Opt-in until
  // the CUDA tests have passed on a GPU: the hand-written kernels are not chosen by default.
  enum class Elementwise { kReference, kFused } elementwise = Elementwise::kReference;
  // The training loss over target tokens: "reference" forms the fp32 logits of every target
  // token of a micro-batch at once (and autograd keeps their log-probabilities for backward);
  // "chunked" takes them a chunk at a time and forms them again in backward
  // (model/chunked_cross_entropy.h): less memory, one more projection matmul.
  enum class Loss { kReference, kChunked } loss = Loss::kReference;
  int64_t loss_chunk_rows = 0;  // target rows per chunk; 0 = about 32M logits a chunk
};

// Reads the "model.kernels" object of a run config (keys as the fields above).
KernelOptions parse_kernel_options(const nlohmann::json& object, const std::string& where);
// Its keys as docs/config-reference.md lists them.
const std::vector<FieldDoc>& kernel_option_fields();

}  // namespace symtune

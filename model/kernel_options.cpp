#include "model/kernel_options.h"

#include <nlohmann/json.hpp>

namespace symtune {
namespace {

const ConfigTable<KernelOptions>& kernel_table() {
  using K = KernelOptions;
  static const ConfigTable<KernelOptions> table =
      ConfigTable<KernelOptions>()
          .choice("attention", &K::attention,
                  {{"auto", K::Attention::kAuto},
                   {"sdpa_mask", K::Attention::kSdpaMask},
                   {"flash_varlen", K::Attention::kFlashVarlen}},
                  "packed rows: a segment mask for SDPA, or FlashAttention's variable-length kernel; auto = "
                  "flash_varlen where FlashAttention runs")
          .choice("rms_norm", &K::rms_norm,
                  {{"auto", K::RmsNorm::kAuto}, {"reference", K::RmsNorm::kReference}, {"fused", K::RmsNorm::kFused}},
                  "HF's fp32 formula op by op, or at::rms_norm; auto = fused on CUDA")
          .choice("elementwise", &K::elementwise,
                  {{"reference", K::Elementwise::kReference}, {"fused", K::Elementwise::kFused}},
                  "symtune's kernels for silu(gate) * up and rotary embeddings, or LibTorch ops")
          .choice("loss", &K::loss, {{"reference", K::Loss::kReference}, {"chunked", K::Loss::kChunked}},
                  "all target logits at once, or a chunk at a time formed again in backward")
          .integer("loss_chunk_rows", &K::loss_chunk_rows, {0, int64_t(1) << 30},
                   "chunked loss: target rows per chunk; 0 = about 32M logits a chunk");
  return table;
}

}  // namespace

const std::vector<FieldDoc>& kernel_option_fields() { return kernel_table().docs(); }

KernelOptions parse_kernel_options(const nlohmann::json& object, const std::string& where) {
  KernelOptions k;
  kernel_table().read(object, k, {where, {}});
  return k;
}

}  // namespace symtune

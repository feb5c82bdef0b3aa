#include "model/kernel_options.h"

#include "common/json_values.h"

namespace symtune {

KernelOptions::Attention parse_attention_kernel(const std::string& name, const std::string& where) {
  using A = KernelOptions::Attention;
  return choose<A>(name, {{"auto", A::kAuto}, {"sdpa_mask", A::kSdpaMask}, {"flash_varlen", A::kFlashVarlen}},
                   where + ": expected ");
}

KernelOptions::RmsNorm parse_rms_norm_kernel(const std::string& name, const std::string& where) {
  using R = KernelOptions::RmsNorm;
  return choose<R>(name, {{"auto", R::kAuto}, {"reference", R::kReference}, {"fused", R::kFused}},
                   where + ": expected ");
}

KernelOptions::Elementwise parse_elementwise_kernel(const std::string& name, const std::string& where) {
  using E = KernelOptions::Elementwise;
  return choose<E>(name, {{"reference", E::kReference}, {"fused", E::kFused}}, where + ": expected ");
}

KernelOptions::Loss parse_loss_kernel(const std::string& name, const std::string& where) {
  using L = KernelOptions::Loss;
  return choose<L>(name, {{"reference", L::kReference}, {"chunked", L::kChunked}}, where + ": expected ");
}

}  // namespace symtune

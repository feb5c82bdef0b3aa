#include "model/kernel_options.h"

#include "common/error.h"

namespace symtune {

KernelOptions::Attention parse_attention_kernel(const std::string& name, const std::string& where) {
  if (name == "auto") return KernelOptions::Attention::kAuto;
  if (name == "sdpa_mask") return KernelOptions::Attention::kSdpaMask;
  if (name == "flash_varlen") return KernelOptions::Attention::kFlashVarlen;
  throw Error(where + ": expected \"auto\", \"sdpa_mask\" or \"flash_varlen\", found \"" + name + "\"");
}

KernelOptions::RmsNorm parse_rms_norm_kernel(const std::string& name, const std::string& where) {
  if (name == "auto") return KernelOptions::RmsNorm::kAuto;
  if (name == "reference") return KernelOptions::RmsNorm::kReference;
  if (name == "fused") return KernelOptions::RmsNorm::kFused;
  throw Error(where + ": expected \"auto\", \"reference\" or \"fused\", found \"" + name + "\"");
}

KernelOptions::Elementwise parse_elementwise_kernel(const std::string& name, const std::string& where) {
  if (name == "reference") return KernelOptions::Elementwise::kReference;
  if (name == "fused") return KernelOptions::Elementwise::kFused;
  throw Error(where + ": expected \"reference\" or \"fused\", found \"" + name + "\"");
}

KernelOptions::Loss parse_loss_kernel(const std::string& name, const std::string& where) {
  if (name == "reference") return KernelOptions::Loss::kReference;
  if (name == "chunked") return KernelOptions::Loss::kChunked;
  throw Error(where + ": expected \"reference\" or \"chunked\", found \"" + name + "\"");
}

}  // namespace symtune

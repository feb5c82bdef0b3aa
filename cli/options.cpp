#include "cli/options.h"

#include <torch/cuda.h>

#include "common/error.h"

namespace symtune::cli {

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32") return c10::kFloat;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  throw Error("--dtype: '" + name + "' is not one of float32, bfloat16");
}

c10::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  try {
    c10::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw Error("--device " + name + ": this build or machine has no CUDA device");
    return device;
  } catch (const c10::Error&) {
    throw Error("--device: '" + name + "' is not a device (expected cpu, cuda, cuda:N or auto)");
  }
}

}  // namespace symtune::cli

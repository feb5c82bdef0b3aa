#include "model/placement.h"

#include <torch/cuda.h>

#include "common/error.h"

namespace symtune {

c10::Device resolve_device(const DeviceChoice& choice, const std::string& where, int64_t local_rank) {
  using Kind = DeviceChoice::Kind;
  const bool have_cuda = torch::cuda::is_available();
  if (choice.kind == Kind::kCpu || (choice.kind == Kind::kAuto && !have_cuda)) return c10::Device(c10::kCPU);
  if (!have_cuda)
    throw Error(where + ": \"" + to_string(choice) + "\" asked for, but this build or machine has no CUDA device");
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  const int64_t index = choice.index >= 0 ? choice.index : local_rank;
  if (index >= count)
    throw Error(where + ": CUDA device " + std::to_string(index) + " asked for, but this machine has " +
                std::to_string(count) + (choice.index >= 0 ? "" : " (the index is the process's local rank)"));
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

c10::ScalarType resolve_dtype(DtypeChoice choice, const c10::Device& device, const CpuBf16Support& cpu) {
  switch (choice) {
    case DtypeChoice::kFloat32:
      return c10::kFloat;
    case DtypeChoice::kBFloat16:
      return c10::kBFloat16;
    default:
      return device.is_cuda() || (device.is_cpu() && cpu.native()) ? c10::kBFloat16 : c10::kFloat;
  }
}

c10::ScalarType resolve_dtype(DtypeChoice choice, const c10::Device& device) {
  return resolve_dtype(choice, device, device.is_cpu() ? cpu_bf16_support() : CpuBf16Support{});
}

std::string dtype_choice_note(DtypeChoice choice, const c10::Device& device) {
  if (choice != DtypeChoice::kAuto) return "";
  const c10::ScalarType dtype = resolve_dtype(choice, device);
  std::string note =
      std::string("dtype auto: ") + (dtype == c10::kBFloat16 ? "bfloat16" : "float32") + " on " + device.str();
  if (device.is_cpu()) note += " (this CPU has " + describe(cpu_bf16_support()) + ")";
  return note;
}

}  // namespace symtune

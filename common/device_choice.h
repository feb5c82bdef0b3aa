// The dtype and device a model runs in, as users name them in run configs (model.dtype,
// model.device) and on the command line (--dtype, --device): parsed here, once, for both.
// Which devices exist is known only at run time; model/placement.h turns a choice into a
// torch device and dtype.
// Must not include torch.
#pragma once

#include <cstdint>
#include <string>

namespace symtune {

// "auto" (bf16 on CUDA, fp32 elsewhere), "float32" / "fp32", "bfloat16" / "bf16".
enum class DtypeChoice { kAuto, kFloat32, kBFloat16 };

// "auto" (CUDA when there is a GPU, else the CPU), "cpu", "cuda" (the process's own GPU: its
// local rank under a launcher) or "cuda:N".
struct DeviceChoice {
  enum class Kind { kAuto, kCpu, kCuda } kind = Kind::kAuto;
  int64_t index = -1;  // cuda:N; -1 = the process's own GPU
};

// Error "<where>: must be ..., found ..." for any other spelling.
DtypeChoice parse_dtype_choice(const std::string& name, const std::string& where);
DeviceChoice parse_device_choice(const std::string& name, const std::string& where);

std::string to_string(const DeviceChoice& choice);

}  // namespace symtune

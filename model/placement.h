// Turns the user's dtype and device choices (common/device_choice.h) into a torch device and
// dtype, checking what this build and machine have: a CUDA device asked for where there is
// none, or cuda:N past the last GPU, is an Error naming `where` (the config key or the flag).
// Must not include data/ or trainer/.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

#include "common/cpu_features.h"
#include "common/device_choice.h"

namespace symtune {

// "cuda" without an index is the GPU of `local_rank` (one process per GPU under a launcher).
c10::Device resolve_device(const DeviceChoice& choice, const std::string& where, int64_t local_rank = 0);

// auto: bfloat16 on CUDA and on CPUs with native bf16 units (common/cpu_features.h), float32
// elsewhere.
c10::ScalarType resolve_dtype(DtypeChoice choice, const c10::Device& device);
c10::ScalarType resolve_dtype(DtypeChoice choice, const c10::Device& device, const CpuBf16Support& cpu);

// The line a run logs for an auto choice, e.g. "dtype auto: float32 on cpu (this CPU has no
// native bf16 (AVX-512 BF16 or AMX))"; "" for an explicit dtype.
std::string dtype_choice_note(DtypeChoice choice, const c10::Device& device);

}  // namespace symtune

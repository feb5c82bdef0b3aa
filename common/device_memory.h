// Peak memory of the CUDA caching allocator, for logs and benchmarks (0 on CPU or in a CPU
// build of LibTorch).
#pragma once

#include <c10/core/Device.h>

namespace symtune {

double peak_device_memory_gib(c10::Device device);
void reset_peak_device_memory(c10::Device device);

}  // namespace symtune

// Memory of the CUDA device, for logs, benchmarks and the activation-checkpointing choice (0 or
// nothing on CPU or in a CPU build of LibTorch).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

namespace symtune {

double peak_device_memory_gib(c10::Device device);
void reset_peak_device_memory(c10::Device device);

struct DeviceMemory {
  int64_t free_bytes = 0, total_bytes = 0;
};
// Free and total memory of a CUDA device as the driver reports them; nullopt on CPU.
std::optional<DeviceMemory> device_memory(c10::Device device);
// The machine's memory for a run on the CPU: MemAvailable and MemTotal of /proc/meminfo
// (nullopt where it cannot be read).
std::optional<DeviceMemory> host_memory();

}  // namespace symtune

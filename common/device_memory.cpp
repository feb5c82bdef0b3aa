#include "common/device_memory.h"

#include <fstream>
#include <string>

#ifdef SYMTUNE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace symtune {

#ifdef SYMTUNE_WITH_CUDA
namespace {
c10::DeviceIndex index_of(c10::Device device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
}  // namespace
#endif

double peak_device_memory_gib(c10::Device device) {
#ifdef SYMTUNE_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
    return static_cast<double>(stats.allocated_bytes[0].peak) / double(1ull << 30);
  }
#endif
  (void)device;
  return 0;
}

void reset_peak_device_memory(c10::Device device) {
#ifdef SYMTUNE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
#endif
  (void)device;
}

std::optional<DeviceMemory> device_memory(c10::Device device) {
#ifdef SYMTUNE_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard guard(index_of(device));
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) return std::nullopt;
    return DeviceMemory{static_cast<int64_t>(free), static_cast<int64_t>(total)};
  }
#endif
  (void)device;
  return std::nullopt;
}

std::optional<DeviceMemory> host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0, available = -1, total = -1;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") available = kib * 1024;
    if (key == "MemTotal:") total = kib * 1024;
  }
  if (available < 0 || total < 0) return std::nullopt;
  return DeviceMemory{available, total};
}

}  // namespace symtune

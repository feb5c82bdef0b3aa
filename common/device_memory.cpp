#include "common/device_memory.h"

#ifdef SYMTUNE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace symtune {

double peak_device_memory_gib(c10::Device device) {
#ifdef SYMTUNE_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    return static_cast<double>(stats.allocated_bytes[0].peak) / double(1ull << 30);
  }
#endif
  (void)device;
  return 0;
}

void reset_peak_device_memory(c10::Device device) {
#ifdef SYMTUNE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#endif
  (void)device;
}

}  // namespace symtune

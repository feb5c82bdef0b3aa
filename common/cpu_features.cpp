#include "common/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <cstdint>

namespace symtune {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// The extended register state the OS saves on context switches (XCR0): a unit is usable only
// when its registers are saved.
uint64_t os_saved_state() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // OSXSAVE
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

}  // namespace

CpuBf16Support cpu_bf16_support() {
  CpuBf16Support s;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, nullptr) < 7) return s;
  const uint64_t xcr0 = os_saved_state();
  const bool zmm_saved = (xcr0 & 0xE6) == 0xE6;          // SSE, AVX, opmask, ZMM halves
  const bool tiles_saved = (xcr0 & 0x60000) == 0x60000;  // TILECFG, TILEDATA
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx512f = b & (1u << 16);
  s.amx_bf16 = tiles_saved && (d & (1u << 22)) && (d & (1u << 24));  // AMX-BF16, AMX-TILE
  __cpuid_count(7, 1, a, b, c, d);
  s.avx512_bf16 = zmm_saved && avx512f && (a & (1u << 5));
#endif
  return s;
}

std::string describe(const CpuBf16Support& s) {
  if (s.avx512_bf16 && s.amx_bf16) return "AVX-512 BF16 and AMX-BF16";
  if (s.avx512_bf16) return "AVX-512 BF16";
  if (s.amx_bf16) return "AMX-BF16";
  return "no native bf16 (AVX-512 BF16 or AMX)";
}

}  // namespace symtune

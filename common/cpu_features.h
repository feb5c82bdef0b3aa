// What this CPU can do natively in bfloat16, read at run time (CPUID and the OS's saved
// register state): AVX-512 BF16 dot products (Cooper Lake, Zen 4 and later) or AMX tiles
// (Sapphire Rapids and later). oneDNN runs bf16 matrix products on those units at about twice
// the fp32 rate; without them bf16 is emulated and slower than fp32, so `dtype: auto` picks
// bf16 on the CPU only where one is present.
// Must not include torch.
#pragma once

#include <string>

namespace symtune {

struct CpuBf16Support {
  bool avx512_bf16 = false;
  bool amx_bf16 = false;
  bool native() const { return avx512_bf16 || amx_bf16; }
};

// This machine's support (false for both on other architectures).
CpuBf16Support cpu_bf16_support();

// "AVX-512 BF16" / "AMX-BF16" / "AVX-512 BF16 and AMX-BF16", or "no native bf16 (AVX-512 BF16
// or AMX)" when neither is present.
std::string describe(const CpuBf16Support& support);

}  // namespace symtune

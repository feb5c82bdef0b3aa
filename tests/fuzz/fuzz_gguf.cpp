// libFuzzer target for the GGUF reader: any bytes must give either a valid file (whose tensors
// then dequantize) or a symtune::Error, never a crash, a hang or an out-of-bounds read.
// Build: cmake -DSYMTUNE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...; run: fuzz_gguf -max_total_time=600 corpus/
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "model/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/symtune-fuzz-gguf-" + std::to_string(::getpid());
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    const symtune::GgufFile file = symtune::GgufFile::open(path);
    for (const auto& t : file.tensors())
      if (t.bytes < (1u << 20)) file.load_fp32(t.name);
  } catch (const symtune::Error&) {
  }
  return 0;
}

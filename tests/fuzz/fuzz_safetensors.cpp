// libFuzzer target for the safetensors reader: any bytes must give either a valid file, whose
// tensors then load, or a symtune::Error; never a crash, a hang, a leak or a read out of bounds.
// Build and run: scripts/fuzz.sh (tests/fuzz/CMakeLists.txt).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/symtune-fuzz-safetensors-" + std::to_string(::getpid());
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    const symtune::SafetensorsFile file = symtune::SafetensorsFile::open(path);
    for (const auto& e : file.entries())
      if (e.end - e.begin < (1u << 20)) file.load(e.name);
  } catch (const symtune::Error&) {
  }
  return 0;
}

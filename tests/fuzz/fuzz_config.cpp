// libFuzzer target for the run-config reader: any bytes as a config file (and the model config
// it may embed) must give a validated config or a symtune::Error naming what is wrong; never a
// crash, an exception of another kind, a hang or a leak.
// Build and run: scripts/fuzz.sh (tests/fuzz/CMakeLists.txt).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "model/model_config.h"
#include "trainer/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/symtune-fuzz-config-" + std::to_string(::getpid()) + ".json";
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    const symtune::TrainConfig c = symtune::load_train_config(path, {"train.output_dir=/tmp/symtune-fuzz-run"});
    if (!c.model.init_config.is_null()) symtune::parse_model_config(c.model.init_config.dump(), "init_config");
  } catch (const symtune::Error&) {
  }
  return 0;
}

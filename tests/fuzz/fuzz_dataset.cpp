// libFuzzer target for the dataset readers: any bytes as a dataset's train.jsonl (beside a fixed
// dataset.json), or as its dataset.json, must load or give a symtune::Error naming file and line;
// never a crash, an exception of another kind, a hang or a leak.
// Build and run: scripts/fuzz.sh (tests/fuzz/CMakeLists.txt).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "data/datasets.h"

namespace {
void write(const std::string& path, const uint8_t* data, size_t size) {
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = "/tmp/symtune-fuzz-dataset-" + std::to_string(::getpid());
  static const std::string meta = R"({"name": "d", "labels": ["no", "yes"], "fields": ["text"]})";
  ::mkdir(dir.c_str(), 0755);
  // The first byte picks which file the rest replaces.
  const bool as_meta = size > 0 && (data[0] & 1);
  const uint8_t* rest = size > 0 ? data + 1 : data;
  const size_t rest_size = size > 0 ? size - 1 : 0;
  if (as_meta) {
    write(dir + "/dataset.json", rest, rest_size);
    const std::string train = "{\"text\": \"a\", \"label\": \"no\"}\n{\"text\": \"b\", \"label\": \"yes\"}\n";
    write(dir + "/train.jsonl", reinterpret_cast<const uint8_t*>(train.data()), train.size());
  } else {
    write(dir + "/dataset.json", reinterpret_cast<const uint8_t*>(meta.data()), meta.size());
    write(dir + "/train.jsonl", rest, rest_size);
  }
  try {
    symtune::load_classification_dataset(dir, 1000);
  } catch (const symtune::Error&) {
  }
  return 0;
}

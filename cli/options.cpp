#include "cli/options.h"

#include "common/device_choice.h"
#include "common/error.h"
#include "model/placement.h"

namespace symtune::cli {

c10::ScalarType parse_storage_dtype(const std::string& name) {
  if (name == "auto" || (name != "float32" && name != "fp32" && name != "bfloat16" && name != "bf16"))
    throw Error("--dtype: the dtype to write must be \"float32\" (\"fp32\") or \"bfloat16\" (\"bf16\"), found \"" +
                name + "\"");
  return resolve_dtype(parse_dtype_choice(name, "--dtype"), c10::Device(c10::kCPU));
}

c10::ScalarType parse_compute_dtype(const std::string& name, const c10::Device& device) {
  return resolve_dtype(parse_dtype_choice(name, "--dtype"), device);
}

c10::Device parse_device(const std::string& name) {
  return resolve_device(parse_device_choice(name, "--device"), "--device");
}

namespace {
std::string& recorded_command_line() {
  static std::string line;
  return line;
}
}  // namespace

void record_command_line(int argc, char** argv) {
  std::string line = "symtune";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool plain = arg.find_first_of(" \t'\"$`\\") == std::string::npos && !arg.empty();
    line += " " + (plain ? arg : "'" + arg + "'");
  }
  recorded_command_line() = line;
}

const std::string& command_line() { return recorded_command_line(); }

}  // namespace symtune::cli

#include "common/device_choice.h"

#include "common/error.h"

namespace symtune {

DtypeChoice parse_dtype_choice(const std::string& name, const std::string& where) {
  if (name == "auto") return DtypeChoice::kAuto;
  if (name == "float32" || name == "fp32") return DtypeChoice::kFloat32;
  if (name == "bfloat16" || name == "bf16") return DtypeChoice::kBFloat16;
  throw Error(where + ": must be \"auto\", \"float32\" (\"fp32\") or \"bfloat16\" (\"bf16\"), found \"" + name + "\"");
}

DeviceChoice parse_device_choice(const std::string& name, const std::string& where) {
  if (name == "auto") return {DeviceChoice::Kind::kAuto, -1};
  if (name == "cpu") return {DeviceChoice::Kind::kCpu, -1};
  if (name == "cuda") return {DeviceChoice::Kind::kCuda, -1};
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() <= 8 &&
      name.find_first_not_of("0123456789", 5) == std::string::npos)
    return {DeviceChoice::Kind::kCuda, std::stoll(name.substr(5))};
  throw Error(where + ": must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\", found \"" + name + "\"");
}

std::string to_string(const DeviceChoice& choice) {
  switch (choice.kind) {
    case DeviceChoice::Kind::kCpu:
      return "cpu";
    case DeviceChoice::Kind::kCuda:
      return choice.index < 0 ? "cuda" : "cuda:" + std::to_string(choice.index);
    default:
      return "auto";
  }
}

}  // namespace symtune

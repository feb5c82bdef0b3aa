// --dtype and --device of the subcommands, read by the same parsers as a run config's
// model.dtype and model.device (common/device_choice.h, model/placement.h).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace symtune::cli {

// Bounds of the commands' numeric options, as the config tables bound the config's: far above any
// real use, they turn a typo into a clear error instead of a run that never ends.
constexpr int64_t kMaxEvalExamples = 1'000'000;
constexpr int64_t kMaxPromptTokens = int64_t(1) << 20;

// A dtype to store weights in: "float32"/"fp32" or "bfloat16"/"bf16" ("auto" is refused: a
// file's dtype should not depend on the machine that wrote it).
c10::ScalarType parse_storage_dtype(const std::string& name);
// A dtype to compute in on `device`: as above, or "auto" (bf16 on CUDA, fp32 elsewhere).
c10::ScalarType parse_compute_dtype(const std::string& name, const c10::Device& device);
// "cpu", "cuda", "cuda:N" or "auto" (cuda when available, else cpu), checked against the machine.
c10::Device parse_device(const std::string& name);

// The command line as typed ("symtune reproduce --config ..."), recorded by main for reports.
void record_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace symtune::cli

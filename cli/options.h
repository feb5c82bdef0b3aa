// Parsing helpers shared by the subcommands: dtype and device names.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace symtune::cli {

// "float32"/"fp32" or "bfloat16"/"bf16".
c10::ScalarType parse_dtype(const std::string& name);
// "cpu", "cuda" or "cuda:N"; "auto" = cuda when available, else cpu.
c10::Device parse_device(const std::string& name);

}  // namespace symtune::cli

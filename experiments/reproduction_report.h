// The markdown report of a reproduction (experiments/reproduction.h) from its reproduction.json:
// what was run and where, the paper's Table 1 layout (one row per arm, one column per ICL
// setting), the per-task tables, the flipped-label curve, list functions and Turing concepts,
// and the paired differences (each arm against the base, mixed against instruction-only) with
// a sentence each on what the 95% intervals allow one to conclude.
// No torch here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace symtune {

std::string reproduction_markdown(const nlohmann::json& summary);

}  // namespace symtune

// A report's statistics recomputed from its per-draw outcomes: each task's Wilson interval and
// each setting's mean with its bootstrap interval (eval/statistics.h). A report kept from an
// earlier run (a reproduction that continues) is summarised by the same code as a new one.
// No torch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace symtune {

void resummarise_report(nlohmann::json& report, uint64_t seed);

}  // namespace symtune

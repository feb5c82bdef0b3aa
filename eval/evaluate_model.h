// Evaluating a model directory on the suites of eval/suites.h: the report behind `symtune eval`,
// `symtune ablate` and the reproduction runs.
// Must not include trainer/.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/suites.h"

namespace symtune {

// {"model", "seed", "examples_per_task", "exemplars_per_class", "suites": {name: run_eval_suite(...)}}.
// An unknown suite name is an Error listing the known ones.
nlohmann::json evaluate_model(const std::string& model_dir, const std::vector<std::string>& suites,
                              const EvalOptions& options, c10::Device device, c10::ScalarType dtype);

// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& s);

}  // namespace symtune

// Evaluating a model directory on suites, shared by `symtune eval` and `symtune ablate`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/suites.h"

namespace symtune::cli {

nlohmann::json evaluate_model(const std::string& model_dir, const std::vector<std::string>& suites,
                              const EvalOptions& options, const std::string& device, const std::string& dtype);
std::vector<std::string> split_commas(const std::string& s);

}  // namespace symtune::cli

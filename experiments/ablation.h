// The paper's mixture-ratio ablation (Wei et al. 2023, section 4.4): one training run per
// symbol-tuning share (data.symbol_fraction), each evaluated on the held-out suites, then a
// table (ablation.md), the numbers (ablation.json) and a plot (ablation.png) of accuracy
// against the share. Runs are resumed where they stopped (--resume auto), so an interrupted
// ablation continues.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/suites.h"

namespace symtune {

struct AblationPlan {
  std::string config;          // training run config
  std::vector<double> ratios;  // shares in [0, 1], at least two
  std::string out_dir = "runs/ablation";
  std::vector<std::string> overrides;  // --set for every run
  std::vector<std::string> suites{"icl"};
  EvalOptions eval;
  c10::Device device = c10::Device(c10::kCPU);  // of the evaluations
  c10::ScalarType dtype = c10::kFloat;
};

// "0,0.5,1" -> {0, 0.5, 1}; Error unless each is a share in [0, 1] and there are at least two.
std::vector<double> parse_ratios(const std::string& text);

// The train and eval commands of each run, for a cluster's scheduler (nothing is run).
std::vector<std::string> ablation_commands(const AblationPlan& plan);

// Trains and evaluates every run, writes report.json per run and ablation.json / .md / .png;
// returns the markdown table.
std::string run_ablation(const AblationPlan& plan);

}  // namespace symtune

// The paper's main comparison (Wei et al. 2023, Table 1 and sections 5-6), reproduced from one
// base model: four arms trained with the same config, budget and seed plan, evaluated on the
// same held-out draws, and one report.
//   (a) base         the base model, untrained
//   (b) instruction  instruction tuning only (data.symbol_fraction 0)
//   (c) mixed        symbol tuning mixed with instruction tuning (the paper's 0.84)
//   (d) symbol       symbol tuning only (data.symbol_fraction 1)
// Files in out_dir: <arm>/ (a training run, report.json), reproduction.json (every report, the
// plan, wall times, the machine), reproduction.md (Table 1 layout, per-task tables, flipped
// curves, list functions, Turing concepts, paired differences of each arm against the base and
// of (c) against (b)) and reproduction.png. An interrupted reproduction continues: finished
// arms keep their report, a training run resumes from its checkpoint.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>
#include <vector>

#include "common/device_choice.h"
#include "eval/suites.h"

namespace symtune {

struct ReproductionArm {
  std::string key;                        // "a" .. "d"
  std::string name;                       // "base", "instruction", "mixed", "symbol"
  std::optional<double> symbol_fraction;  // none: the base model, not trained
};

struct ReproductionPlan {
  std::string config;  // the training config every arm extends (its model.path is the base)
  std::vector<std::string> overrides;
  std::string out_dir = "runs/reproduce";
  std::string scale = "custom";  // named in the report ("cpu", "gpu")
  std::string command;           // the command line, recorded in the report
  double mixed_fraction = 0.84;
  std::vector<std::string> arms{"base", "instruction", "mixed", "symbol"};
  std::vector<std::string> suites{"icl", "flipped", "list_functions", "turing_concepts"};
  EvalOptions eval;
  c10::Device device = c10::Device(c10::kCPU);  // of the evaluations
  DtypeChoice dtype = DtypeChoice::kAuto;
};

// The arms named in `names` (base, instruction, mixed, symbol), in that order; Error for any
// other name.
std::vector<ReproductionArm> reproduction_arms(const std::vector<std::string>& names, double mixed_fraction);

// Trains and evaluates every arm and writes the report; returns the markdown.
std::string run_reproduction(const ReproductionPlan& plan);

}  // namespace symtune

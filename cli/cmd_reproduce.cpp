// symtune reproduce: the paper's comparison of base, instruction-tuned, mixed and symbol-tuned
// arms from one base model, with one report (experiments/reproduction.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/eval_options.h"
#include "cli/options.h"
#include "eval/evaluate_model.h"
#include "experiments/reproduction.h"

namespace symtune::cli {

void add_reproduce_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "reproduce",
      "Train instruction-only, mixed and symbol-only arms from one base model, evaluate all four arms on "
      "the same held-out queries, and write one report");
  struct Args {
    std::string arms = "base,instruction,mixed,symbol", suites = "icl,flipped,list_functions,turing_concepts";
    ReproductionPlan plan;
    EvalCommandOptions eval;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--config", a->plan.config, "Training run config of every arm (model.path is the base model)")
      ->required();
  cmd->add_option("--out", a->plan.out_dir, "Folder for the arms, reproduction.json/.md/.png")->capture_default_str();
  cmd->add_option("--set", a->plan.overrides, "Config overrides for every arm (key.path=value)");
  cmd->add_option("--scale", a->plan.scale, "Name of the scale, written in the report (cpu, gpu)")
      ->capture_default_str();
  cmd->add_option("--mixed-fraction", a->plan.mixed_fraction, "Symbol-tuning share of arm (c) (paper: 0.84)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--arms", a->arms, "Arms to run, comma-separated")->capture_default_str();
  cmd->add_option("--suite", a->suites, "Evaluation suites, comma-separated")->capture_default_str();
  add_eval_options(*cmd, a->eval);
  cmd->callback([a] {
    ReproductionPlan plan = a->plan;
    plan.arms = split_commas(a->arms);
    plan.suites = split_commas(a->suites);
    plan.eval = resolved_eval_options(a->eval);
    plan.device = parse_device(a->eval.device);
    plan.dtype = parse_dtype_choice(a->eval.dtype, "--dtype");
    plan.command = command_line();
    std::cout << run_reproduction(plan);
  });
}

}  // namespace symtune::cli

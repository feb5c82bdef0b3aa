// symtune ablate: the paper's mixture-ratio ablation (experiments/ablation.h). --print-commands
// prints the runs for a cluster instead.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/eval_options.h"
#include "cli/options.h"
#include "eval/evaluate_model.h"
#include "experiments/ablation.h"

namespace symtune::cli {

void add_ablate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("ablate", "Train and evaluate once per symbol-tuning mixture ratio; table and plot");
  struct Args {
    std::string ratios = "0,0.16,0.5,0.84,1.0", suites = "icl";
    bool print_commands = false;
    AblationPlan plan;
    EvalCommandOptions eval;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--config", a->plan.config, "Training run config")->required();
  cmd->add_option("--ratios", a->ratios, "Symbol-tuning shares, comma-separated")->capture_default_str();
  cmd->add_option("--out", a->plan.out_dir, "Folder for the runs, ablation.json/.md and ablation.png")
      ->capture_default_str();
  cmd->add_option("--set", a->plan.overrides, "Config overrides for every run (key.path=value)");
  cmd->add_option("--suite", a->suites, "Evaluation suites, comma-separated")->capture_default_str();
  add_eval_options(*cmd, a->eval);
  cmd->add_flag("--print-commands", a->print_commands, "Print the train/eval commands (e.g. for a cluster) and exit");
  cmd->callback([a] {
    AblationPlan plan = a->plan;
    plan.ratios = parse_ratios(a->ratios);
    plan.suites = split_commas(a->suites);
    plan.eval = resolved_eval_options(a->eval);
    if (a->print_commands) {
      for (const auto& c : ablation_commands(plan)) std::cout << c << "\n";
      return;
    }
    plan.device = parse_device(a->eval.device);
    plan.dtype = parse_compute_dtype(a->eval.dtype, plan.device);
    std::cout << run_ablation(plan);
  });
}

}  // namespace symtune::cli

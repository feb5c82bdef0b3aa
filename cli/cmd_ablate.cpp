// symtune ablate: the paper's mixture-ratio ablation (experiments/ablation.h). --print-commands
// prints the runs for a cluster instead.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "eval/evaluate_model.h"
#include "experiments/ablation.h"

namespace symtune::cli {

void add_ablate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("ablate", "Train and evaluate once per symbol-tuning mixture ratio; table and plot");
  struct Args {
    std::string ratios = "0,0.16,0.5,0.84,1.0", suites = "icl", tasks, device = "cpu", dtype = "float32";
    bool print_commands = false;
    AblationPlan plan;
  };
  auto a = std::make_shared<Args>();
  if (const char* env = std::getenv("SYMTUNE_SHARED_DATA"))
    a->plan.eval.classification_dir = std::string(env) + "/classification";
  cmd->add_option("--config", a->plan.config, "Training run config")->required();
  cmd->add_option("--ratios", a->ratios, "Symbol-tuning shares, comma-separated")->capture_default_str();
  cmd->add_option("--out", a->plan.out_dir, "Folder for the runs, ablation.json/.md and ablation.png")
      ->capture_default_str();
  cmd->add_option("--set", a->plan.overrides, "Config overrides for every run (key.path=value)");
  cmd->add_option("--suite", a->suites, "Evaluation suites, comma-separated")->capture_default_str();
  cmd->add_option("--data", a->plan.eval.classification_dir, "Held-out classification datasets folder");
  cmd->add_option("--tasks", a->tasks, "Held-out tasks, comma-separated");
  cmd->add_option("-n,--examples", a->plan.eval.examples_per_task, "Test examples per task")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), kMaxEvalExamples));
  cmd->add_option("--max-input-tokens", a->plan.eval.max_input_tokens, "Evaluation prompt budget")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(8), kMaxPromptTokens));
  cmd->add_option("--device", a->device, "Evaluation device: cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "Evaluation dtype: float32, bfloat16 or auto")->capture_default_str();
  cmd->add_flag("--print-commands", a->print_commands, "Print the train/eval commands (e.g. for a cluster) and exit");
  cmd->callback([a] {
    AblationPlan plan = a->plan;
    plan.ratios = parse_ratios(a->ratios);
    plan.suites = split_commas(a->suites);
    if (!a->tasks.empty()) plan.eval.tasks = split_commas(a->tasks);
    if (a->print_commands) {
      for (const auto& c : ablation_commands(plan)) std::cout << c << "\n";
      return;
    }
    plan.device = parse_device(a->device);
    plan.dtype = parse_compute_dtype(a->dtype, plan.device);
    std::cout << run_ablation(plan);
  });
}

}  // namespace symtune::cli

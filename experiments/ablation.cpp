#include "experiments/ablation.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "eval/evaluate_model.h"
#include "eval/report_tables.h"
#include "experiments/helper_scripts.h"
#include "trainer/checkpoint.h"
#include "trainer/trainer.h"

namespace symtune {
namespace fs = std::filesystem;

namespace {

std::string run_name(double ratio) {
  char name[64];
  std::snprintf(name, sizeof(name), "symbol_fraction_%03d", static_cast<int>(std::lround(ratio * 100)));
  return name;
}

std::vector<std::string> run_overrides(const AblationPlan& plan, double ratio, const std::string& run_dir) {
  std::vector<std::string> sets = plan.overrides;
  sets.push_back("data.symbol_fraction=" + std::to_string(ratio));
  sets.push_back("train.output_dir=" + run_dir);
  return sets;
}

std::string share_label(double ratio) {
  char share[32];
  std::snprintf(share, sizeof(share), "%.0f%%", 100 * ratio);
  return share;
}

}  // namespace

std::vector<double> parse_ratios(const std::string& text) {
  std::vector<double> ratios;
  for (const auto& r : split_commas(text)) {
    char* end = nullptr;
    const double v = std::strtod(r.c_str(), &end);
    if (*end != '\0' || !(v >= 0 && v <= 1)) throw Error("--ratios: '" + r + "' is not a share in [0, 1]");
    ratios.push_back(v);
  }
  if (ratios.size() < 2) throw Error("--ratios: an ablation needs at least two ratios");
  return ratios;
}

std::vector<std::string> ablation_commands(const AblationPlan& plan) {
  std::vector<std::string> commands;
  std::string suites;
  for (const auto& s : plan.suites) suites += (suites.empty() ? "" : ",") + s;
  for (double r : plan.ratios) {
    const std::string run_dir = (fs::path(plan.out_dir) / run_name(r)).string();
    std::string train = "symtune train --config " + plan.config;
    for (const auto& s : run_overrides(plan, r, run_dir)) train += " --set " + s;
    commands.push_back(train + " --resume auto");
    commands.push_back("symtune eval --model " + run_dir + "/checkpoints/<newest>/model --suite " + suites + " --out " +
                       run_dir + "/report.json");
  }
  return commands;
}

std::string run_ablation(const AblationPlan& plan) {
  nlohmann::json summary = {{"config", plan.config}, {"suites", plan.suites}, {"runs", nlohmann::json::array()}};
  std::vector<std::pair<std::string, nlohmann::json>> rows;
  // Between the runs' own logs (training's step lines, evaluation's progress), how far the
  // ablation is.
  // Plain lines even on a terminal: the runs' own lines come in between.
  Progress progress("ablate", "runs (train + eval)", static_cast<int64_t>(plan.ratios.size()), /*terminal=*/0);
  for (double r : plan.ratios) {
    const std::string run_dir = (fs::path(plan.out_dir) / run_name(r)).string();
    Trainer trainer(load_train_config(plan.config, run_overrides(plan, r, run_dir)), "auto");
    trainer.run();
    throw_if_stop_requested("ablate: " + run_dir);  // the run checkpointed; rerunning the ablation resumes it
    const auto last = latest_checkpoint(fs::path(run_dir) / "checkpoints");
    if (!last) throw Error(run_dir + ": no checkpoint after training");
    const auto report = evaluate_model((*last / "model").string(), plan.suites, plan.eval, plan.device, plan.dtype);
    write_text_file_atomically(fs::path(run_dir) / "report.json", report.dump(2) + "\n");
    summary["runs"].push_back({{"symbol_fraction", r}, {"run_dir", run_dir}, {"report", report}});
    rows.emplace_back(share_label(r), report);
    progress.advance();
  }
  progress.finish();
  fs::create_directories(plan.out_dir);
  const fs::path json_path = fs::path(plan.out_dir) / "ablation.json";
  write_text_file_atomically(json_path, summary.dump(2) + "\n");
  const std::string md = reports_by_setting_markdown("symbol-tuning share", rows);
  write_text_file_atomically(fs::path(plan.out_dir) / "ablation.md", md);
  const std::string plot_problem = run_helper_script("plot_ablation.py", {json_path.string()});
  if (!plot_problem.empty()) std::cerr << "ablate: the plot was not drawn: " << plot_problem << "\n";
  return md;
}

}  // namespace symtune

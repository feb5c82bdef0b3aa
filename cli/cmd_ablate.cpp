// symtune ablate: the paper's mixture-ratio ablation. One training per symbol-tuning share
// (data.symbol_fraction), each evaluated on the held-out suites, then a table and a plot of
// accuracy against the share. --print-commands prints the runs for a cluster instead.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/evaluate.h"
#include "common/error.h"
#include "common/file_io.h"
#include "trainer/checkpoint.h"
#include "trainer/trainer.h"

namespace symtune::cli {
namespace fs = std::filesystem;

void add_ablate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("ablate", "Train and evaluate once per symbol-tuning mixture ratio; table and plot");
  struct Args {
    std::string config, ratios = "0,0.16,0.5,0.84,1.0", out = "runs/ablation", suites = "icl", tasks, device = "cpu",
                        dtype = "float32";
    std::vector<std::string> overrides;
    bool print_commands = false;
    EvalOptions eval;
  };
  auto a = std::make_shared<Args>();
  if (const char* env = std::getenv("SYMTUNE_SHARED_DATA"))
    a->eval.classification_dir = std::string(env) + "/classification";
  cmd->add_option("--config", a->config, "Training run config")->required();
  cmd->add_option("--ratios", a->ratios, "Symbol-tuning shares, comma-separated")->capture_default_str();
  cmd->add_option("--out", a->out, "Folder for the runs, ablation.json/.md and ablation.png")->capture_default_str();
  cmd->add_option("--set", a->overrides, "Config overrides for every run (key.path=value)");
  cmd->add_option("--suite", a->suites, "Evaluation suites, comma-separated")->capture_default_str();
  cmd->add_option("--data", a->eval.classification_dir, "Held-out classification datasets folder");
  cmd->add_option("--tasks", a->tasks, "Held-out tasks, comma-separated");
  cmd->add_option("-n,--examples", a->eval.examples_per_task, "Test examples per task")->capture_default_str();
  cmd->add_option("--max-input-tokens", a->eval.max_input_tokens, "Evaluation prompt budget")->capture_default_str();
  cmd->add_flag("--print-commands", a->print_commands, "Print the train/eval commands (e.g. for a cluster) and exit");
  cmd->callback([a] {
    std::vector<double> ratios;
    for (const auto& r : split_commas(a->ratios)) {
      char* end = nullptr;
      const double v = std::strtod(r.c_str(), &end);
      if (*end != '\0' || !(v >= 0 && v <= 1)) throw Error("--ratios: '" + r + "' is not a share in [0, 1]");
      ratios.push_back(v);
    }
    if (ratios.size() < 2) throw Error("--ratios: an ablation needs at least two ratios");
    EvalOptions eval = a->eval;
    if (!a->tasks.empty()) eval.tasks = split_commas(a->tasks);
    nlohmann::json summary = {{"config", a->config}, {"suites", a->suites}, {"runs", nlohmann::json::array()}};
    for (double r : ratios) {
      char name[64];
      std::snprintf(name, sizeof(name), "symbol_fraction_%03d", static_cast<int>(std::lround(r * 100)));
      const std::string run_dir = (fs::path(a->out) / name).string();
      std::vector<std::string> sets = a->overrides;
      sets.push_back("data.symbol_fraction=" + std::to_string(r));
      sets.push_back("train.output_dir=" + run_dir);
      if (a->print_commands) {
        std::cout << "symtune train --config " << a->config;
        for (const auto& s : sets) std::cout << " --set " << s;
        std::cout << " --resume auto\nsymtune eval --model " << run_dir << "/checkpoints/<newest>/model --suite "
                  << a->suites << " --out " << run_dir << "/report.json\n";
        continue;
      }
      Trainer trainer(load_train_config(a->config, sets), "auto");
      trainer.run();
      const auto last = latest_checkpoint(fs::path(run_dir) / "checkpoints");
      if (!last) throw Error(run_dir + ": no checkpoint after training");
      const auto report =
          evaluate_model((*last / "model").string(), split_commas(a->suites), eval, a->device, a->dtype);
      write_text_file_atomically(fs::path(run_dir) / "report.json", report.dump(2) + "\n");
      summary["runs"].push_back({{"symbol_fraction", r}, {"run_dir", run_dir}, {"report", report}});
    }
    if (a->print_commands) return;
    fs::create_directories(a->out);
    write_text_file_atomically(fs::path(a->out) / "ablation.json", summary.dump(2) + "\n");
    // Table: one row per ratio, one column per suite setting (mean accuracy over tasks).
    std::string md = "| symbol-tuning share |";
    std::vector<std::pair<std::string, std::string>> columns;
    for (auto s = summary["runs"][0]["report"]["suites"].begin(); s != summary["runs"][0]["report"]["suites"].end();
         ++s)
      for (auto set = s.value()["settings"].begin(); set != s.value()["settings"].end(); ++set) {
        columns.emplace_back(s.key(), set.key());
        md += " " + s.key() + ": " + set.key() + " |";
      }
    md += "\n|---|";
    for (size_t i = 0; i < columns.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& run : summary["runs"]) {
      char share[32];
      std::snprintf(share, sizeof(share), "%.0f%%", 100 * run["symbol_fraction"].get<double>());
      md += std::string("| ") + share + " |";
      for (const auto& [suite, setting] : columns) {
        char v[32];
        std::snprintf(v, sizeof(v), "%.3f", run["report"]["suites"][suite]["settings"][setting]["mean"].get<double>());
        md += std::string(" ") + v + " |";
      }
      md += "\n";
    }
    write_text_file_atomically(fs::path(a->out) / "ablation.md", md);
    std::cout << md;
    // The plot is drawn by matplotlib (scripts/plot_ablation.py), from the venv when there is one.
    const fs::path script = fs::path(SYMTUNE_SOURCE_DIR) / "scripts" / "plot_ablation.py";
    const fs::path venv_python = fs::path(SYMTUNE_SOURCE_DIR) / ".venv" / "bin" / "python";
    const std::string python = fs::exists(venv_python) ? venv_python.string() : "python3";
    const std::string command =
        python + " '" + script.string() + "' '" + (fs::path(a->out) / "ablation.json").string() + "'";
    if (std::system(command.c_str()) != 0) std::cerr << "ablate: the plot was not drawn; run: " << command << "\n";
  });
}

}  // namespace symtune::cli

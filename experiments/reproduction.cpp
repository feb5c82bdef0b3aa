#include "experiments/reproduction.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/cpu_features.h"
#include "common/device_memory.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/stop_signal.h"
#include "eval/evaluate_model.h"
#include "eval/report_summary.h"
#include "eval/report_tables.h"
#include "experiments/helper_scripts.h"
#include "experiments/reproduction_report.h"
#include "model/placement.h"
#include "trainer/checkpoint.h"
#include "trainer/trainer.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<ReproductionArm> reproduction_arms(const std::vector<std::string>& names, double mixed_fraction) {
  const std::vector<ReproductionArm> all{
      {"a", "base", std::nullopt}, {"b", "instruction", 0.0}, {"c", "mixed", mixed_fraction}, {"d", "symbol", 1.0}};
  for (const auto& n : names) {
    bool known = false;
    for (const auto& a : all) known = known || a.name == n;
    if (!known) throw Error("--arms: unknown arm '" + n + "' (base, instruction, mixed, symbol)");
  }
  std::vector<ReproductionArm> arms;
  for (const auto& a : all)
    if (std::find(names.begin(), names.end(), a.name) != names.end()) arms.push_back(a);
  if (arms.empty()) throw Error("--arms: no arm to run");
  return arms;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string label_of(const ReproductionArm& arm) { return "(" + arm.key + ") " + arm.name; }

fs::path arm_dir(const ReproductionPlan& plan, const ReproductionArm& arm) {
  return fs::path(plan.out_dir) / (arm.key + "_" + arm.name);
}

// Everything that decides an evaluation's draws and scores: a stored report is reused only when
// this matches (so a changed -n or seed re-evaluates).
json eval_plan_json(const ReproductionPlan& plan, const std::string& model_dir) {
  const EvalOptions& o = plan.eval;
  return {{"model", model_dir},
          {"suites", plan.suites},
          {"tasks", o.tasks},
          {"classification_dir", o.classification_dir},
          {"list_functions", o.list_functions},
          {"examples_per_task", o.examples_per_task},
          {"exemplars_per_class", o.exemplars_per_class},
          {"open_task_exemplars", o.open_task_exemplars},
          {"max_input_tokens", o.max_input_tokens},
          {"flip_percents", o.flip_percents},
          {"list_function_tasks", o.list_function_tasks},
          {"open_task_queries", o.open_task_queries},
          {"seed", o.seed}};
}

// Trains an arm (resuming its run) and returns its newest checkpoint's model folder. The time
// spent training is added up in <arm>/train_wall.json across the invocations that trained.
std::string train_arm(const ReproductionPlan& plan, const ReproductionArm& arm, double& train_wall_s) {
  const fs::path dir = arm_dir(plan, arm);
  const fs::path wall_file = dir / "train_wall.json";
  double before = 0;
  if (fs::exists(wall_file)) {
    try {
      before = json::parse(read_text_file(wall_file)).value("seconds", 0.0);
    } catch (const json::exception&) {
    }
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> sets = plan.overrides;
  sets.push_back("data.symbol_fraction=" + std::to_string(*arm.symbol_fraction));
  sets.push_back("train.output_dir=" + dir.string());
  Trainer trainer(load_train_config(plan.config, sets), "auto");
  const int64_t first_step = trainer.step();
  trainer.run();
  train_wall_s = before + (trainer.step() > first_step ? seconds_since(start) : 0.0);
  write_text_file_atomically(wall_file, json{{"seconds", train_wall_s}}.dump() + "\n");
  throw_if_stop_requested("reproduce: " + dir.string());  // checkpointed; a rerun resumes it
  const auto last = latest_checkpoint(dir / "checkpoints");
  if (!last) throw Error(dir.string() + ": no checkpoint after training");
  return (*last / "model").string();
}

// The arm's report, evaluated now or kept from an earlier run with the same plan (then its
// statistics are recomputed from its outcomes by today's code). Its "eval_wall_s" is the time
// the evaluation took when it ran.
json evaluate_arm(const ReproductionPlan& plan, const ReproductionArm& arm, const std::string& model_dir) {
  const fs::path path = arm_dir(plan, arm) / "report.json";
  const json wanted = eval_plan_json(plan, model_dir);
  if (fs::exists(path)) {
    try {
      json stored = json::parse(read_text_file(path));
      if (stored.value("eval_plan", json()) == wanted) {
        resummarise_report(stored, plan.eval.seed);
        return stored;
      }
    } catch (const json::exception&) {
    }  // unreadable: evaluate again
  }
  const auto start = std::chrono::steady_clock::now();
  const auto dtype = resolve_dtype(plan.dtype, plan.device);
  json report = evaluate_model(model_dir, plan.suites, plan.eval, plan.device, dtype);
  report["eval_plan"] = wanted;
  report["eval_wall_s"] = seconds_since(start);
  fs::create_directories(path.parent_path());
  write_text_file_atomically(path, report.dump(2) + "\n");
  return report;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

json machine_json(const ReproductionPlan& plan) {
  json m = {{"cpu", cpu_model_name()},
            {"cores", std::thread::hardware_concurrency()},
            {"cpu_bf16", describe(cpu_bf16_support())},
            {"eval_device", plan.device.str()}};
  if (const auto mem = host_memory()) m["memory_gib"] = static_cast<double>(mem->total_bytes) / (1 << 30);
  if (const auto note = dtype_choice_note(plan.dtype, plan.device); !note.empty()) m["eval_dtype"] = note;
  return m;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// When this reproduction first started: kept across the invocations that continue it.
std::string first_started(const std::string& out_dir) {
  const fs::path previous = fs::path(out_dir) / "reproduction.json";
  if (fs::exists(previous)) {
    try {
      const json j = json::parse(read_text_file(previous));
      if (j.contains("started") && j["started"].is_string()) return j["started"].get<std::string>();
    } catch (const json::exception&) {
    }
  }
  return utc_now();
}

}  // namespace

std::string run_reproduction(const ReproductionPlan& plan) {
  const auto start = std::chrono::steady_clock::now();
  const std::string base_model = load_train_config(plan.config, plan.overrides).model.path;
  if (base_model.empty()) throw Error(plan.config + ": model.path: a reproduction starts from a pretrained model");
  json summary = {{"scale", plan.scale},
                  {"command", plan.command},
                  {"config", plan.config},
                  {"overrides", plan.overrides},
                  {"base_model", base_model},
                  {"mixed_fraction", plan.mixed_fraction},
                  {"eval", eval_plan_json(plan, "")},
                  {"machine", machine_json(plan)},
                  {"started", first_started(plan.out_dir)},
                  {"arms", json::array()}};
  for (const auto& arm : reproduction_arms(plan.arms, plan.mixed_fraction)) {
    std::cerr << "reproduce: " << label_of(arm) << "\n";
    double train_s = 0;
    const std::string model_dir = arm.symbol_fraction ? train_arm(plan, arm, train_s) : base_model;
    const json report = evaluate_arm(plan, arm, model_dir);
    json entry = {{"key", arm.key},     {"name", arm.name},        {"label", label_of(arm)},
                  {"model", model_dir}, {"train_wall_s", train_s}, {"eval_wall_s", report.value("eval_wall_s", 0.0)},
                  {"report", report}};
    entry["symbol_fraction"] = arm.symbol_fraction ? json(*arm.symbol_fraction) : json(nullptr);
    summary["arms"].push_back(entry);
  }
  double compute_s = 0;  // what produced the results, over the invocations that did the work
  for (const auto& a : summary["arms"]) compute_s += a["train_wall_s"].get<double>() + a["eval_wall_s"].get<double>();
  summary["wall_s"] = compute_s;
  summary["this_invocation_wall_s"] = seconds_since(start);
  fs::create_directories(plan.out_dir);
  const fs::path json_path = fs::path(plan.out_dir) / "reproduction.json";
  write_text_file_atomically(json_path, summary.dump(2) + "\n");
  const std::string md = reproduction_markdown(summary);
  write_text_file_atomically(fs::path(plan.out_dir) / "reproduction.md", md);
  const std::string plot_problem = run_helper_script("plot_reproduction.py", {json_path.string()});
  if (!plot_problem.empty()) std::cerr << "reproduce: the figure was not drawn: " << plot_problem << "\n";
  return md;
}

}  // namespace symtune

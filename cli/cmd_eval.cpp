// symtune eval: evaluate a checkpoint on the in-context learning suites; symtune compare: put
// reports side by side.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/file_io.h"
#include "eval/evaluate_model.h"
#include "eval/report_tables.h"

namespace symtune::cli {

namespace {
std::string shared_data(const std::string& sub) {
  const char* env = std::getenv("SYMTUNE_SHARED_DATA");
  return env ? std::string(env) + "/" + sub : "";
}
}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("eval", "Evaluate a model on in-context learning suites; writes JSON and markdown reports");
  struct Args {
    std::string model, suites = "icl,flipped", out = "report.json", tasks, device = "cpu", dtype = "float32";
    EvalOptions options;
  };
  auto a = std::make_shared<Args>();
  a->options.classification_dir = shared_data("classification");
  a->options.list_functions = shared_data("list_functions/list_functions.jsonl");
  cmd->add_option("--model", a->model, "HF model directory (a checkpoint's model/ folder works)")->required();
  cmd->add_option("--suite", a->suites, "Comma-separated: icl, flipped, list_functions, turing_concepts")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Report JSON (a .md table is written beside it)")->capture_default_str();
  cmd->add_option("--data", a->options.classification_dir,
                  "Classification datasets folder (default $SYMTUNE_SHARED_DATA/classification), or builtin:synthetic");
  cmd->add_option("--tasks", a->tasks, "Held-out tasks, comma-separated (default subj,emotion,hate_speech,sms_spam)");
  cmd->add_option("--list-functions", a->options.list_functions,
                  "list_functions.jsonl (default under $SYMTUNE_SHARED_DATA)");
  cmd->add_option("-n,--examples", a->options.examples_per_task, "Test examples per task (paper: 100)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), kMaxEvalExamples));
  cmd->add_option("-k,--exemplars", a->options.exemplars_per_class, "In-context exemplars per class (paper: 4)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(64)));
  cmd->add_option("--max-input-tokens", a->options.max_input_tokens, "Prompt budget")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(8), kMaxPromptTokens));
  cmd->add_option("--seed", a->options.seed, "Seed of every draw")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "float32, bfloat16 or auto (bf16 on CUDA)")->capture_default_str();
  cmd->callback([a] {
    EvalOptions o = a->options;
    if (!a->tasks.empty()) o.tasks = split_commas(a->tasks);
    o.symbols.word_list_required = false;
    const c10::Device device = parse_device(a->device);
    const auto report =
        evaluate_model(a->model, split_commas(a->suites), o, device, parse_compute_dtype(a->dtype, device));
    write_text_file_atomically(a->out, report.dump(2) + "\n");
    const std::string md = compare_reports_markdown({report}, {a->model});
    std::string md_path = a->out;
    if (md_path.size() > 5 && md_path.substr(md_path.size() - 5) == ".json") md_path.resize(md_path.size() - 5);
    write_text_file_atomically(md_path + ".md", md);
    std::cout << md;
  });

  auto* cmp = app.add_subcommand("compare", "Put two or more evaluation reports side by side as a markdown table");
  auto files = std::make_shared<std::vector<std::string>>();
  auto names = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  cmp->add_option("reports", *files, "Report JSON files")->required()->expected(1, -1);
  cmp->add_option("--names", *names, "Column names, comma-separated (default: the file names)");
  cmp->add_option("--out", *out, "Also write the table here");
  cmp->callback([=] {
    std::vector<nlohmann::json> reports;
    for (const auto& f : *files) {
      try {
        reports.push_back(nlohmann::json::parse(read_text_file(f)));
      } catch (const nlohmann::json::exception& e) {
        throw Error(f + ": not valid JSON: " + e.what());
      }
      if (!reports.back().contains("suites")) throw Error(f + ": not a symtune eval report (no 'suites')");
    }
    std::vector<std::string> columns = names->empty() ? *files : split_commas(*names);
    if (columns.size() != files->size())
      throw Error("--names: " + std::to_string(columns.size()) + " names for " + std::to_string(files->size()) +
                  " reports");
    const std::string md = compare_reports_markdown(reports, columns);
    if (!out->empty()) write_text_file_atomically(*out, md);
    std::cout << md;
  });
}

}  // namespace symtune::cli

// symtune eval: evaluate a checkpoint on the in-context learning suites; symtune compare: put
// reports side by side.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/evaluate.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/file_io.h"
#include "eval/suites.h"
#include "model/hf_checkpoint.h"

namespace symtune::cli {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {
std::string shared_data(const std::string& sub) {
  const char* env = std::getenv("SYMTUNE_SHARED_DATA");
  return env ? std::string(env) + "/" + sub : "";
}
}  // namespace

nlohmann::json evaluate_model(const std::string& model_dir, const std::vector<std::string>& suites,
                              const EvalOptions& options, const std::string& device, const std::string& dtype) {
  for (const auto& s : suites)
    if (std::find(eval_suite_names().begin(), eval_suite_names().end(), s) == eval_suite_names().end())
      throw Error("--suite: unknown suite '" + s + "' (icl, flipped, list_functions, turing_concepts)");
  auto model = load_pretrained(model_dir, {parse_dtype(dtype), parse_device(device), false});
  const ModelConfig& c = model->config();
  auto tokenizer = load_tokenizer(model_dir, {c.bos_token_id, c.first_eos_token_id(), c.pad_token_id}, c.vocab_size);
  nlohmann::json report = {{"model", model_dir},
                           {"seed", options.seed},
                           {"examples_per_task", options.examples_per_task},
                           {"exemplars_per_class", options.exemplars_per_class},
                           {"suites", nlohmann::json::object()}};
  for (const auto& s : suites) {
    std::fprintf(stderr, "evaluating %s on %s...\n", model_dir.c_str(), s.c_str());
    report["suites"][s] = run_eval_suite(s, *model, *tokenizer, options);
  }
  return report;
}

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
      ->capture_default_str();
  cmd->add_option("-k,--exemplars", a->options.exemplars_per_class, "In-context exemplars per class (paper: 4)")
      ->capture_default_str();
  cmd->add_option("--max-input-tokens", a->options.max_input_tokens, "Prompt budget")->capture_default_str();
  cmd->add_option("--seed", a->options.seed, "Seed of every draw")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "float32 or bfloat16")->capture_default_str();
  cmd->callback([a] {
    EvalOptions o = a->options;
    if (!a->tasks.empty()) o.tasks = split_commas(a->tasks);
    o.symbols.word_list_required = false;
    const auto report = evaluate_model(a->model, split_commas(a->suites), o, a->device, a->dtype);
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
      } catch (const nlohmann::json::parse_error& e) {
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

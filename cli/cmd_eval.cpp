// symtune eval: evaluate a checkpoint on the in-context learning suites; symtune compare: put
// reports side by side.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/eval_options.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/file_io.h"
#include "eval/evaluate_model.h"
#include "eval/report_tables.h"
#include "model/placement.h"

namespace symtune::cli {

void add_eval_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("eval", "Evaluate a model on in-context learning suites; writes JSON and markdown reports");
  struct Args {
    std::string model, suites = "icl,flipped", out = "report.json";
    EvalCommandOptions eval;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "HF model directory (a checkpoint's model/ folder works)")->required();
  cmd->add_option("--suite", a->suites, "Comma-separated: icl, flipped, list_functions, turing_concepts")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Report JSON (a .md table is written beside it)")->capture_default_str();
  add_eval_options(*cmd, a->eval);
  cmd->callback([a] {
    const EvalOptions o = resolved_eval_options(a->eval);
    const c10::Device device = parse_device(a->eval.device);
    const DtypeChoice dtype = parse_dtype_choice(a->eval.dtype, "--dtype");
    if (const auto note = dtype_choice_note(dtype, device); !note.empty()) std::cerr << "eval: " << note << "\n";
    const auto report = evaluate_model(a->model, split_commas(a->suites), o, device, resolve_dtype(dtype, device));
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

// Markdown tables of evaluation reports (the JSON of eval/evaluate_model.h). `symtune eval` and
// `symtune compare` (one column per report) and `symtune ablate` (one row per run) render
// through here, so an accuracy reads the same everywhere.
// Must not include trainer/; no torch here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace symtune {

// The per-draw outcome strings of every task of a suite setting (eval/statistics.h), in task
// order; empty when the report has no such setting.
std::vector<std::string> setting_outcomes(const nlohmann::json& report, const std::string& suite,
                                          const std::string& setting);

// A GitHub-flavoured markdown table.
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// A report entry as a table shows it: a task "0.612 [0.51, 0.70] n=100" (Wilson interval), a
// setting's mean "0.600 [0.52, 0.68]" (bootstrap interval), a bare number "0.612"; "-" for none.
std::string accuracy_cell(const nlohmann::json* entry);

// One column per report; rows suite / setting / task, and each setting's mean; then, for each
// report after the first, its paired difference from the first on the same draws with a 95%
// bootstrap interval, and McNemar's p (eval/statistics.h).
std::string compare_reports_markdown(const std::vector<nlohmann::json>& reports, const std::vector<std::string>& names);

// One row per (label, report); one column per suite setting of the first report (its mean over
// tasks, with its interval).
std::string reports_by_setting_markdown(const std::string& label_header,
                                        const std::vector<std::pair<std::string, nlohmann::json>>& runs);

// One row per (label, report); one column per task of `suite` / `setting` in the first report,
// then the setting's mean (the per-task view of a table like the paper's Table 1).
std::string reports_by_task_markdown(const std::string& label_header,
                                     const std::vector<std::pair<std::string, nlohmann::json>>& runs,
                                     const std::string& suite, const std::string& setting);

// Paired differences of setting means on the same draws: one row per suite / setting of the
// first pair's first report, one column per named comparison "b - a [95% CI], McNemar p".
struct ReportPair {
  std::string name;  // e.g. "(c) - (a)"
  const nlohmann::json* a;
  const nlohmann::json* b;
};
std::string paired_means_markdown(const std::vector<ReportPair>& pairs);

}  // namespace symtune

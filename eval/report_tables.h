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

}  // namespace symtune

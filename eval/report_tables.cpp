#include "eval/report_tables.h"

#include <cstdio>

namespace symtune {
using json = nlohmann::json;

std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (const auto& c : cells) out += " " + c + " |";
    return out + "\n";
  };
  std::string md = line(header) + "|";
  for (size_t i = 0; i < header.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& r : rows) md += line(r);
  return md;
}

std::string accuracy_cell(const json* accuracy) {
  if (accuracy == nullptr || !accuracy->is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", accuracy->get<double>());
  return buf;
}

namespace {

// The accuracy of `task` ("" = the mean) in a report, or nullptr.
const json* find_accuracy(const json& report, const std::string& suite, const std::string& setting,
                          const std::string& task) {
  try {
    const json& s = report.at("suites").at(suite).at("settings").at(setting);
    return task.empty() ? &s.at("mean") : &s.at("tasks").at(task).at("accuracy");
  } catch (const json::exception&) {
    return nullptr;
  }
}

}  // namespace

std::string compare_reports_markdown(const std::vector<json>& reports, const std::vector<std::string>& names) {
  std::vector<std::string> header{"suite", "setting", "task"};
  header.insert(header.end(), names.begin(), names.end());
  std::vector<std::vector<std::string>> rows;
  const json& first = reports.at(0);
  for (auto suite = first["suites"].begin(); suite != first["suites"].end(); ++suite)
    for (auto setting = suite.value()["settings"].begin(); setting != suite.value()["settings"].end(); ++setting) {
      std::vector<std::string> tasks;
      if (setting.value()["tasks"].size() <= 20)  // list functions (250 tasks): only the mean
        for (auto t = setting.value()["tasks"].begin(); t != setting.value()["tasks"].end(); ++t)
          tasks.push_back(t.key());
      tasks.push_back("");
      for (const auto& task : tasks) {
        std::vector<std::string> row{suite.key(), setting.key(), task.empty() ? "**mean**" : task};
        for (const auto& r : reports) row.push_back(accuracy_cell(find_accuracy(r, suite.key(), setting.key(), task)));
        rows.push_back(std::move(row));
      }
    }
  return markdown_table(header, rows);
}

std::string reports_by_setting_markdown(const std::string& label_header,
                                        const std::vector<std::pair<std::string, json>>& runs) {
  std::vector<std::string> header{label_header};
  std::vector<std::pair<std::string, std::string>> columns;
  if (!runs.empty()) {
    const json& suites = runs[0].second["suites"];
    for (auto s = suites.begin(); s != suites.end(); ++s)
      for (auto set = s.value()["settings"].begin(); set != s.value()["settings"].end(); ++set) {
        columns.emplace_back(s.key(), set.key());
        header.push_back(s.key() + ": " + set.key());
      }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [label, report] : runs) {
    std::vector<std::string> row{label};
    for (const auto& [suite, setting] : columns)
      row.push_back(accuracy_cell(find_accuracy(report, suite, setting, "")));
    rows.push_back(std::move(row));
  }
  return markdown_table(header, rows);
}

}  // namespace symtune

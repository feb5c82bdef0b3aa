#include "eval/report_tables.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "eval/statistics.h"

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

namespace {

std::string format(const char* pattern, double a, double b = 0, double c = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), pattern, a, b, c);
  return buf;
}

// A suite's setting names in natural order: digit runs compare as numbers, so the flipped
// shares read 0, 50, 100 (JSON objects keep them as strings sort: 0, 100, 50).
std::vector<std::string> setting_names(const json& settings) {
  std::vector<std::string> names;
  for (auto it = settings.begin(); it != settings.end(); ++it) names.push_back(it.key());
  auto natural_less = [](const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
      if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
        size_t ie = i, je = j;
        while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
        while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
        const unsigned long long x = std::stoull(a.substr(i, ie - i)), y = std::stoull(b.substr(j, je - j));
        if (x != y) return x < y;
        i = ie;
        j = je;
      } else {
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
      }
    }
    return a.size() - i < b.size() - j;
  };
  std::sort(names.begin(), names.end(), natural_less);
  return names;
}

// A task's or a setting's entry in a report, or nullptr.
const json* find_entry(const json& report, const std::string& suite, const std::string& setting,
                       const std::string& task) {
  try {
    const json& s = report.at("suites").at(suite).at("settings").at(setting);
    return task.empty() ? &s : &s.at("tasks").at(task);
  } catch (const json::exception&) {
    return nullptr;
  }
}

// The per-draw outcomes of a task, or of every task of a setting ("" = all), for pairing.
std::vector<std::string> outcomes_of(const json& report, const std::string& suite, const std::string& setting,
                                     const std::string& task) {
  std::vector<std::string> out;
  const json* s = find_entry(report, suite, setting, "");
  if (s == nullptr || !s->contains("tasks")) return out;
  for (auto t = (*s)["tasks"].begin(); t != (*s)["tasks"].end(); ++t)
    if ((task.empty() || t.key() == task) && t.value().contains("outcomes"))
      out.push_back(t.value()["outcomes"].get<std::string>());
  return out;
}

}  // namespace

std::vector<std::string> setting_outcomes(const json& report, const std::string& suite, const std::string& setting) {
  return outcomes_of(report, suite, setting, "");
}

std::string accuracy_cell(const json* entry) {
  if (entry == nullptr) return "-";
  if (entry->is_number()) return format("%.3f", entry->get<double>());
  const bool mean = entry->contains("mean");
  const char* value_key = mean ? "mean" : "accuracy";
  const char* interval_key = mean ? "mean_interval" : "interval";
  if (!entry->contains(value_key)) return "-";
  std::string cell = format("%.3f", (*entry)[value_key].get<double>());
  if (entry->contains(interval_key))
    cell += format(" [%.2f, %.2f]", (*entry)[interval_key][0].get<double>(), (*entry)[interval_key][1].get<double>());
  if (!mean && entry->contains("n")) cell += " n=" + std::to_string((*entry)["n"].get<int64_t>());
  return cell;
}

std::string compare_reports_markdown(const std::vector<json>& reports, const std::vector<std::string>& names) {
  std::vector<std::string> header{"suite", "setting", "task"};
  header.insert(header.end(), names.begin(), names.end());
  for (size_t k = 1; k < names.size(); ++k) {
    header.push_back(names[k] + " - " + names[0] + " [95% CI]");
    header.push_back("McNemar p");
    header.push_back("same outcome");
  }
  std::vector<std::vector<std::string>> rows;
  const json& first = reports.at(0);
  for (auto suite = first["suites"].begin(); suite != first["suites"].end(); ++suite)
    for (const std::string& setting_name : setting_names(suite.value()["settings"])) {
      const json& setting_body = suite.value()["settings"][setting_name];
      std::vector<std::string> tasks;
      if (setting_body["tasks"].size() <= 20)  // list functions (250 tasks): only the mean
        for (auto t = setting_body["tasks"].begin(); t != setting_body["tasks"].end(); ++t) tasks.push_back(t.key());
      tasks.push_back("");
      for (const auto& task : tasks) {
        std::vector<std::string> row{suite.key(), setting_name, task.empty() ? "**mean**" : task};
        for (const auto& r : reports) row.push_back(accuracy_cell(find_entry(r, suite.key(), setting_name, task)));
        const auto base = outcomes_of(first, suite.key(), setting_name, task);
        for (size_t k = 1; k < reports.size(); ++k) {
          const auto other = outcomes_of(reports[k], suite.key(), setting_name, task);
          if (base.empty() || base.size() != other.size()) {
            row.insert(row.end(), {"-", "-", "-"});
            continue;
          }
          const PairedDifference d = paired_difference(base, other);
          row.push_back(format("%+.3f [%+.2f, %+.2f]", d.difference, d.interval.low, d.interval.high));
          row.push_back(format("%.3g", d.mcnemar_p));
          // How often the two models are right or wrong on the same draws (a dtype or kernel change
          // should leave nearly all of them alike).
          const int64_t same = d.pairs - d.only_a - d.only_b;
          row.push_back(std::to_string(same) + "/" + std::to_string(d.pairs) +
                        format(" (%.3f)", d.pairs ? double(same) / double(d.pairs) : 0.0));
        }
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
      for (const std::string& set : setting_names(s.value()["settings"])) {
        columns.emplace_back(s.key(), set);
        header.push_back(s.key() + ": " + set);
      }
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [label, report] : runs) {
    std::vector<std::string> row{label};
    for (const auto& [suite, setting] : columns) row.push_back(accuracy_cell(find_entry(report, suite, setting, "")));
    rows.push_back(std::move(row));
  }
  return markdown_table(header, rows);
}

std::string reports_by_task_markdown(const std::string& label_header,
                                     const std::vector<std::pair<std::string, json>>& runs, const std::string& suite,
                                     const std::string& setting) {
  std::vector<std::string> header{label_header}, tasks;
  if (const json* s = runs.empty() ? nullptr : find_entry(runs[0].second, suite, setting, ""))
    for (auto t = (*s)["tasks"].begin(); t != (*s)["tasks"].end(); ++t) tasks.push_back(t.key());
  header.insert(header.end(), tasks.begin(), tasks.end());
  header.push_back("mean");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [label, report] : runs) {
    std::vector<std::string> row{label};
    for (const auto& t : tasks) row.push_back(accuracy_cell(find_entry(report, suite, setting, t)));
    row.push_back(accuracy_cell(find_entry(report, suite, setting, "")));
    rows.push_back(std::move(row));
  }
  return markdown_table(header, rows);
}

std::string paired_means_markdown(const std::vector<ReportPair>& pairs) {
  std::vector<std::string> header{"suite", "setting"};
  for (const auto& p : pairs) header.push_back(p.name + " [95% CI], McNemar p");
  std::vector<std::vector<std::string>> rows;
  if (pairs.empty()) return markdown_table(header, rows);
  const json& first = *pairs[0].a;
  for (auto suite = first["suites"].begin(); suite != first["suites"].end(); ++suite)
    for (const std::string& setting_name : setting_names(suite.value()["settings"])) {
      std::vector<std::string> row{suite.key(), setting_name};
      for (const auto& p : pairs) {
        const auto a = outcomes_of(*p.a, suite.key(), setting_name, "");
        const auto b = outcomes_of(*p.b, suite.key(), setting_name, "");
        if (a.empty() || a.size() != b.size()) {
          row.push_back("-");
          continue;
        }
        const PairedDifference d = paired_difference(a, b);
        row.push_back(format("%+.3f [%+.2f, %+.2f]", d.difference, d.interval.low, d.interval.high) +
                      format(", p=%.3g", d.mcnemar_p));
      }
      rows.push_back(std::move(row));
    }
  return markdown_table(header, rows);
}

}  // namespace symtune

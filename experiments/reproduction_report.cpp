#include "experiments/reproduction_report.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "eval/report_tables.h"
#include "eval/statistics.h"

namespace symtune {
using json = nlohmann::json;

namespace {

std::string fmt(const char* pattern, double a, double b = 0, double c = 0) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), pattern, a, b, c);
  return buf;
}

// The arms' reports restricted to one suite (empty when the first arm has none).
std::vector<std::pair<std::string, json>> suite_rows(const json& summary, const std::string& suite) {
  std::vector<std::pair<std::string, json>> rows;
  for (const auto& arm : summary["arms"]) {
    const json& suites = arm["report"]["suites"];
    if (!suites.contains(suite)) return {};
    rows.emplace_back(arm["label"].get<std::string>(), json{{"suites", {{suite, suites[suite]}}}});
  }
  return rows;
}

std::string header_section(const json& s) {
  const json& e = s["eval"];
  std::string md = "# Symbol tuning reproduction, " + s["scale"].get<std::string>() + " scale\n\n";
  md += "Command: `" + s["command"].get<std::string>() + "`\n\n";
  md += "- base model: `" + s["base_model"].get<std::string>() + "`; training config `" +
        s["config"].get<std::string>() + "`" + (s["overrides"].empty() ? "" : " with " + s["overrides"].dump()) + "\n";
  md +=
      "- arms: (a) the base model; (b) instruction tuning only (symbol fraction 0); (c) symbol tuning mixed with "
      "instruction tuning (symbol fraction " +
      fmt("%.2f", s["mixed_fraction"].get<double>()) +
      "); (d) symbol tuning only (fraction 1); the same steps, batches of the same shape and seed plan\n";
  md += "- evaluation: " + std::to_string(e["examples_per_task"].get<int64_t>()) + " queries per held-out task (" +
        e["tasks"].dump() + "), " + std::to_string(e["exemplars_per_class"].get<int64_t>()) +
        " exemplars per class, prompts of at most " + std::to_string(e["max_input_tokens"].get<int64_t>()) +
        " tokens, flipped shares " + e["flip_percents"].dump() + "%, seed " +
        std::to_string(e["seed"].get<uint64_t>()) + "; every arm scores the same draws\n";
  const json& m = s["machine"];
  md += "- machine: " + m.value("cpu", std::string("?")) + ", " + std::to_string(m.value("cores", 0)) + " cores, " +
        fmt("%.1f", m.value("memory_gib", 0.0)) + " GiB; " + m.value("cpu_bf16", std::string()) + "; evaluation on " +
        m.value("eval_device", std::string("?")) +
        (m.contains("eval_dtype") ? " (" + m["eval_dtype"].get<std::string>() + ")" : std::string()) + "\n";
  md += "- started " + s["started"].get<std::string>() + "; wall time " + fmt("%.1f", s["wall_s"].get<double>() / 60) +
        " min of training and evaluation (";
  for (size_t i = 0; i < s["arms"].size(); ++i) {
    const json& a = s["arms"][i];
    md += (i ? "; " : "") + a["label"].get<std::string>() + ": train " +
          fmt("%.1f", a["train_wall_s"].get<double>() / 60) + ", eval " +
          fmt("%.1f", a["eval_wall_s"].get<double>() / 60);
  }
  return md +
         " min)\n\nEach accuracy: value [95% interval] n=queries scored (Wilson for a task; for a mean over tasks a "
         "bootstrap, stratified by task, and two-stage (tasks resampled too) for the list functions and concepts).\n\n";
}

// A sentence on what a paired difference's interval allows one to conclude.
std::string verdict(const std::string& what, const PairedDifference& d) {
  std::string line = "- " + what + ": " + fmt("%+.3f [%+.3f, %+.3f]", d.difference, d.interval.low, d.interval.high) +
                     ", McNemar p = " + fmt("%.3g", d.mcnemar_p) + " on " + std::to_string(d.pairs) +
                     " paired queries: ";
  const bool excludes_zero = d.interval.low > 0 || d.interval.high < 0;
  const std::string direction = d.difference > 0 ? "higher" : "lower";
  if (excludes_zero && d.mcnemar_p < 0.05)
    return line + direction + ": the interval excludes 0 and McNemar's test rejects no difference at 5%.\n";
  if (excludes_zero)
    return line + "the bootstrap interval excludes 0 but McNemar's p is " + fmt("%.2g", d.mcnemar_p) +
           ": not established at this size.\n";
  return line + "the interval includes 0: no difference can be claimed at this size; effects outside [" +
         fmt("%+.3f, %+.3f", d.interval.low, d.interval.high) + "] are unlikely.\n";
}

const json* arm_report(const json& s, const std::string& key) {
  for (const auto& a : s["arms"])
    if (a["key"] == key) return &a["report"];
  return nullptr;
}

std::string comparisons_section(const json& s) {
  const std::vector<std::pair<std::string, std::string>> wanted{{"b", "a"}, {"c", "a"}, {"d", "a"}, {"c", "b"}};
  std::vector<ReportPair> pairs;
  for (const auto& [b, a] : wanted)
    if (arm_report(s, a) && arm_report(s, b))
      pairs.push_back({"(" + b + ") - (" + a + ")", arm_report(s, a), arm_report(s, b)});
  if (pairs.empty()) return "";
  std::string md = "## Paired differences of the means (same queries)\n\n" + paired_means_markdown(pairs) + "\n";
  md += "### What the intervals allow one to conclude\n\n";
  const std::vector<std::pair<std::string, std::string>> headline{
      {"icl", "symbols"},         {"icl", "symbols+instruction"},    {"icl", "natural_labels"},
      {"flipped", "flipped_100"}, {"list_functions", "exact_match"}, {"turing_concepts", "exact_match"}};
  for (const auto& p : pairs)
    for (const auto& [suite, setting] : headline) {
      const auto a = setting_outcomes(*p.a, suite, setting), b = setting_outcomes(*p.b, suite, setting);
      if (a.empty() || a.size() != b.size()) continue;
      md += verdict(p.name + ", " + suite + " / " + setting, paired_difference(a, b));
    }
  return md + "\n";
}

}  // namespace

std::string reproduction_markdown(const json& s) {
  std::string md = header_section(s);
  if (const auto icl = suite_rows(s, "icl"); !icl.empty()) {
    md += "## In-context learning on held-out tasks (the paper's Table 1 layout: mean over tasks)\n\n" +
          reports_by_setting_markdown("arm", icl) + "\n";
    for (auto set = icl[0].second["suites"]["icl"]["settings"].begin();
         set != icl[0].second["suites"]["icl"]["settings"].end(); ++set)
      md += "### " + set.key() + ", per task\n\n" + reports_by_task_markdown("arm", icl, "icl", set.key()) + "\n";
  }
  const std::vector<std::pair<std::string, std::string>> sections{
      {"flipped", "## Flipped labels (share of exemplars flipped; scored against the flipped target)"},
      {"list_functions", "## List functions (exact match of the generated list)"},
      {"turing_concepts", "## Simple Turing concepts (exact match)"}};
  for (const auto& [suite, title] : sections)
    if (const auto rows = suite_rows(s, suite); !rows.empty())
      md += title + "\n\n" + reports_by_setting_markdown("arm", rows) + "\n";
  return md + comparisons_section(s);
}

}  // namespace symtune

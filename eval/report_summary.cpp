#include "eval/report_summary.h"

#include <string>
#include <vector>

#include "eval/statistics.h"

namespace symtune {

void resummarise_report(nlohmann::json& report, uint64_t seed) {
  if (!report.contains("suites")) return;
  for (auto& suite : report["suites"]) {
    if (!suite.contains("settings")) continue;
    for (auto& setting : suite["settings"]) {
      std::vector<std::string> outcomes;
      for (auto& task : setting["tasks"]) {
        if (!task.contains("outcomes")) return;  // a report from before outcomes were kept
        const Interval ci = wilson_interval(task.value("correct", int64_t(0)), task.value("n", int64_t(0)));
        task["interval"] = {ci.low, ci.high};
        outcomes.push_back(task["outcomes"].get<std::string>());
      }
      const MeanEstimate mean = mean_with_interval(outcomes, 2000, seed);
      setting["mean"] = mean.mean;
      setting["mean_interval"] = {mean.interval.low, mean.interval.high};
    }
  }
}

}  // namespace symtune

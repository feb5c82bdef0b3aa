#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/config_table.h"
#include "common/error.h"

namespace symtune {

// Checks between fields; ranges are checked when the fields are read (schedule_table()).
void ScheduleConfig::validate(const std::string& where) const {
  if (kind == ScheduleKind::kCosine || kind == ScheduleKind::kLinear) {
    if (total_steps <= warmup_steps)
      throw Error(where + ": 'total_steps' (" + std::to_string(total_steps) + ") must exceed 'warmup_steps' (" +
                  std::to_string(warmup_steps) + ") for a decaying schedule");
    if (final_lr > peak_lr) throw Error(where + ": 'final_lr' must not exceed 'peak_lr'");
  }
}

double ScheduleConfig::lr_at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)
    return warmup_start_lr +
           (peak_lr - warmup_start_lr) * static_cast<double>(step) / static_cast<double>(warmup_steps);
  switch (kind) {
    case ScheduleKind::kConstant:
      return peak_lr;
    case ScheduleKind::kInverseSqrt: {
      const double anchor = static_cast<double>(std::max<int64_t>(warmup_steps, 1));
      return peak_lr * std::sqrt(anchor / std::max<double>(static_cast<double>(step), anchor));
    }
    case ScheduleKind::kCosine:
    case ScheduleKind::kLinear: {
      const double progress = std::clamp(
          static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps), 0.0, 1.0);
      const double shape = kind == ScheduleKind::kCosine ? 0.5 * (1.0 + std::cos(M_PI * progress)) : 1.0 - progress;
      return final_lr + (peak_lr - final_lr) * shape;
    }
  }
  return peak_lr;
}

namespace {

const ConfigTable<ScheduleConfig>& schedule_table() {
  using S = ScheduleConfig;
  static const ConfigTable<ScheduleConfig> table =
      ConfigTable<ScheduleConfig>()
          .choice("kind", &S::kind,
                  {{"constant", ScheduleKind::kConstant},
                   {"inverse_sqrt", ScheduleKind::kInverseSqrt},
                   {"cosine", ScheduleKind::kCosine},
                   {"linear", ScheduleKind::kLinear}},
                  "shape after warmup; inverse_sqrt = peak_lr * sqrt(max(warmup, 1) / max(step, warmup, 1))")
          .number("peak_lr", &S::peak_lr, {0.0, kMaxLearningRate, true}, "rate at the end of warmup")
          .integer("warmup_steps", &S::warmup_steps, {0, kMaxConfigSteps},
                   "linear warmup from warmup_start_lr to peak_lr over these steps; 0 = none")
          .number("warmup_start_lr", &S::warmup_start_lr, {0.0, kMaxLearningRate}, "rate at step 0 of the warmup")
          .integer("total_steps", &S::total_steps, {0, kMaxConfigSteps},
                   "cosine/linear: the decay ends here (required)")
          .number("final_lr", &S::final_lr, {0.0, kMaxLearningRate}, "cosine/linear: rate at total_steps and after");
  return table;
}

}  // namespace

const std::vector<FieldDoc>& schedule_fields() { return schedule_table().docs(); }

ScheduleConfig parse_schedule(const nlohmann::json& j, const std::string& where) {
  ScheduleConfig c;
  schedule_table().read(j, c, {where, {}});
  c.validate(where);
  return c;
}

}  // namespace symtune

#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_keys.h"
#include "common/json_values.h"

namespace symtune {

void ScheduleConfig::validate(const std::string& where) const {
  for (auto [v, name] : {std::pair{peak_lr, "peak_lr"}, {warmup_start_lr, "warmup_start_lr"}, {final_lr, "final_lr"}})
    if (!std::isfinite(v) || v < 0) throw Error(where + ": '" + name + "' must be a finite number >= 0");
  if (peak_lr <= 0) throw Error(where + ": 'peak_lr' must be positive");
  if (warmup_steps < 0) throw Error(where + ": 'warmup_steps' must be >= 0");
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

ScheduleConfig parse_schedule(const nlohmann::json& j, const std::string& where) {
  require_known_keys(j, {"kind", "peak_lr", "warmup_steps", "warmup_start_lr", "total_steps", "final_lr"}, where);
  ScheduleConfig c;
  read_choice(j, "kind", c.kind,
              {{"constant", ScheduleKind::kConstant},
               {"inverse_sqrt", ScheduleKind::kInverseSqrt},
               {"cosine", ScheduleKind::kCosine},
               {"linear", ScheduleKind::kLinear}},
              where);
  read_value(j, "peak_lr", c.peak_lr, where);
  read_value(j, "warmup_steps", c.warmup_steps, where);
  read_value(j, "warmup_start_lr", c.warmup_start_lr, where);
  read_value(j, "total_steps", c.total_steps, where);
  read_value(j, "final_lr", c.final_lr, where);
  c.validate(where);
  return c;
}

}  // namespace symtune

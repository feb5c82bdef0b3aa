// Learning-rate schedules as pure functions of the step, so resuming needs no schedule state.
// Kinds: constant, inverse_sqrt (T5X's rsqrt decay), cosine and linear decay, each with an
// optional linear warmup in front (warmup composes with every kind).
// Steps count updates from 1 (the first optimizer step uses lr_at(1)).
// Must not include data/ or trainer/.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/config_table.h"

namespace symtune {

enum class ScheduleKind { kConstant, kInverseSqrt, kCosine, kLinear };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kConstant;
  double peak_lr = 1e-3;     // reached at the end of warmup
  int64_t warmup_steps = 0;  // linear from warmup_start_lr to peak_lr over these steps; 0 = none
  double warmup_start_lr = 0.0;
  int64_t total_steps = 0;  // cosine/linear: decay ends here (required for them)
  double final_lr = 0.0;    // cosine/linear: rate at total_steps and after
  // inverse_sqrt: peak_lr * sqrt(max(warmup_steps, 1) / max(step, warmup_steps, 1)) (T5X rsqrt_decay)

  void validate(const std::string& where) const;
  double lr_at(int64_t step) const;
};

// Keys: kind ("constant" | "inverse_sqrt" | "cosine" | "linear"), peak_lr, warmup_steps,
// warmup_start_lr, total_steps, final_lr. Unknown keys are errors.
ScheduleConfig parse_schedule(const nlohmann::json& object, const std::string& where);
// The keys of the schedule section as docs/config-reference.md lists them.
const std::vector<FieldDoc>& schedule_fields();

}  // namespace symtune

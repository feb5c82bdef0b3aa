// The options of symtune's Adafactor (optim/adafactor.h states the update rule they enter), with
// HF transformers' names and defaults, plus T5X/optax's where they differ ("preset": "t5x"),
// read from the "optimizer" section of a run config.
// Must not include data/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config_table.h"

namespace symtune {

enum class FactoredDims { kLastTwo, kLargestTwo };

struct AdafactorOptions {
  std::optional<double> lr;     // external learning rate (or a schedule's); must be absent with relative_step
  bool relative_step = true;    // rho_t = min(1e-2, 1/sqrt(t)), ignoring any external lr
  bool warmup_init = false;     // relative step ramps as 1e-6 t (needs relative_step)
  bool scale_parameter = true;  // step size scaled by max(eps2, RMS(param))
  double eps1 = 1e-30;          // added to G^2
  double eps2 = 1e-3;           // floor of the parameter scale
  double clip_threshold = 1.0;  // update clipping by RMS
  double decay_rate = -0.8;     // beta2_t = 1 - t^decay_rate
  int64_t step_offset = 0;      // for fine-tuning: the second-moment decay restarts after this many steps
  std::optional<double> beta1;  // first moment when set
  double weight_decay = 0.0;
  bool weight_decay_scaled_by_lr = true;  // HF: times alpha_t; T5X: not scaled (decoupled)
  FactoredDims factored_dims = FactoredDims::kLastTwo;
  int64_t min_dim_size_to_factor = 0;  // HF: 0 (always factor rank >= 2); T5X: 128
  bool stochastic_rounding = false;    // bf16 parameters only
  uint64_t seed = 0;                   // for stochastic rounding
  // How the update runs ("implementation" in configs): auto = same-shape parameters stacked
  // into one batch on CUDA, one by one in place on the CPU; "fused" = per parameter in four
  // CUDA kernels (optim/adafactor_fused.h; CUDA builds, no stochastic rounding; tensors whose
  // factored dims are not the last two use the stacked path). Tests hold every path to one answer.
  enum class Batching { kAuto, kStacked, kOneByOne, kFused } batching = Batching::kAuto;

  // Throws Error naming `where` and the option on inconsistent or out-of-range values.
  void validate(const std::string& where) const;
  static AdafactorOptions t5x();  // T5X/optax defaults
};

// Reads options from a JSON object (keys as the fields above; "preset": "hf" | "t5x" picks the
// defaults; "factored_dims": "last_two" | "largest_two"). Unknown keys are errors.
AdafactorOptions parse_adafactor_options(const nlohmann::json& object, const std::string& where);
// The keys of the optimizer section as docs/config-reference.md lists them.
const std::vector<FieldDoc>& adafactor_option_fields();

}  // namespace symtune

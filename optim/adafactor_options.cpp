#include "optim/adafactor_options.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace symtune {
using json = nlohmann::json;

AdafactorOptions AdafactorOptions::t5x() {
  AdafactorOptions o;
  o.relative_step = false;  // T5X takes the rate from a schedule
  o.factored_dims = FactoredDims::kLargestTwo;
  o.min_dim_size_to_factor = 128;
  o.weight_decay_scaled_by_lr = false;
  return o;
}

// Checks between options, and the ranges again for options built in code rather than read.
void AdafactorOptions::validate(const std::string& where) const {
  auto finite = [&](double v, const char* name) {
    if (!std::isfinite(v)) throw Error(where + ": '" + name + "' must be a finite number, found " + std::to_string(v));
  };
  for (auto [v, name] : {std::pair{eps1, "eps1"},
                         {eps2, "eps2"},
                         {clip_threshold, "clip_threshold"},
                         {decay_rate, "decay_rate"},
                         {weight_decay, "weight_decay"}})
    finite(v, name);
  if (lr) {
    finite(*lr, "lr");
    if (*lr <= 0) throw Error(where + ": 'lr' must be positive, found " + std::to_string(*lr));
    if (relative_step)
      throw Error(where +
                  ": 'lr' is set together with 'relative_step': true; relative steps compute their own "
                  "rate. Remove 'lr' or set 'relative_step': false");
  }
  if (warmup_init && !relative_step) throw Error(where + ": 'warmup_init' needs 'relative_step': true");
  if (eps1 < 0 || eps2 <= 0 || clip_threshold <= 0 || weight_decay < 0 || step_offset < 0 || min_dim_size_to_factor < 0)
    throw Error(where +
                ": eps1, weight_decay, step_offset and min_dim_size_to_factor must be >= 0; eps2 and "
                "clip_threshold positive");
  if (decay_rate >= 0)
    throw Error(where + ": 'decay_rate' must be negative (beta2_t = 1 - t^decay_rate; the paper uses -0.8), found " +
                std::to_string(decay_rate));
  if (beta1 && !(*beta1 >= 0 && *beta1 < 1))
    throw Error(where + ": 'beta1' must be in [0, 1), found " + std::to_string(*beta1));
}

namespace {

void read_preset(const json& j, AdafactorOptions& o, const FieldContext& ctx) {
  std::string preset = "hf";
  read_value(j, "preset", preset, ctx.where);
  if (preset != "hf" && preset != "t5x")
    throw Error(ctx.where + ": 'preset' must be \"hf\" or \"t5x\", found \"" + preset + "\"");
  if (preset == "t5x") o = AdafactorOptions::t5x();  // first in the table: the keys after it override
}

// An explicit lr without an explicit relative_step means the user wants that rate (HF's default
// relative_step = true would otherwise reject it).
void read_lr(const json& j, AdafactorOptions& o, const FieldContext& ctx) {
  read_in_range(j, "lr", o.lr, {0.0, kMaxLearningRate, true}, ctx.where);
  if (o.lr && !j.contains("relative_step")) o.relative_step = false;
}

const ConfigTable<AdafactorOptions>& adafactor_table() {
  using A = AdafactorOptions;
  using Batching = AdafactorOptions::Batching;
  static const ConfigTable<AdafactorOptions> table =
      ConfigTable<AdafactorOptions>()
          .custom({"preset", "string", "\"hf\"", "\"hf\" or \"t5x\"",
                   "defaults of HF transformers or of T5X/optax (no relative step, largest_two, "
                   "min_dim_size_to_factor 128, unscaled weight decay); the keys below override them"},
                  read_preset)
          .custom({"lr", "number or null", "null", "(0, 1000]",
                   "fixed rate when there is no schedule; setting it turns relative_step off unless that is given"},
                  read_lr)
          .flag("relative_step", &A::relative_step, "rho_t = min(1e-2, 1/sqrt(t)), ignoring any external rate")
          .flag("warmup_init", &A::warmup_init, "relative step ramps as 1e-6 t (needs relative_step)")
          .flag("scale_parameter", &A::scale_parameter, "step size scaled by max(eps2, RMS(parameter))")
          .number("eps1", &A::eps1, {0.0, 1.0}, "added to G^2")
          .number("eps2", &A::eps2, {0.0, 1.0, true}, "floor of the parameter scale")
          .number("clip_threshold", &A::clip_threshold, {0.0, 1e6, true}, "update clipping by RMS")
          .number("decay_rate", &A::decay_rate, {-10.0, 0.0, false, true}, "beta2_t = 1 - t^decay_rate (negative)")
          .integer("step_offset", &A::step_offset, {0, kMaxConfigSteps},
                   "fine-tuning from a pretrained state: the second-moment decay restarts after this many steps")
          .optional_number("beta1", &A::beta1, {0.0, 1.0, false, true}, "first-moment decay; null = no first moment")
          .number("weight_decay", &A::weight_decay, {0.0, 1.0}, "decoupled weight decay")
          .flag("weight_decay_scaled_by_lr", &A::weight_decay_scaled_by_lr,
                "HF: decay times the step size; T5X: not scaled")
          .choice("factored_dims", &A::factored_dims,
                  {{"last_two", FactoredDims::kLastTwo}, {"largest_two", FactoredDims::kLargestTwo}},
                  "which two dims carry the factored statistics")
          .integer("min_dim_size_to_factor", &A::min_dim_size_to_factor, {0, int64_t(1) << 40},
                   "factor only when both dims are at least this (HF 0, T5X 128)")
          .flag("stochastic_rounding", &A::stochastic_rounding, "bf16 parameters rounded stochastically")
          .seed("seed", &A::seed, "seed of stochastic rounding")
          .choice("implementation", &A::batching,
                  {{"auto", Batching::kAuto},
                   {"stacked", Batching::kStacked},
                   {"one_by_one", Batching::kOneByOne},
                   {"fused", Batching::kFused}},
                  "auto: same-shape tensors stacked on CUDA, one by one on the CPU; fused: four kernels per "
                  "tensor (optim/adafactor_fused.h)");
  return table;
}

}  // namespace

const std::vector<FieldDoc>& adafactor_option_fields() { return adafactor_table().docs(); }

AdafactorOptions parse_adafactor_options(const json& j, const std::string& where) {
  AdafactorOptions o;
  adafactor_table().read(j, o, {where, {}});
  o.validate(where);
  return o;
}

}  // namespace symtune

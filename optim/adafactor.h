// Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
// Cost"), written by us, with the semantics of HF transformers' `Adafactor` by default and of
// T5X/optax's `adafactor` through options (preset "t5x").
// Must not include data/ or trainer/.
//
// Update rule at step t for a parameter X with gradient G (all in fp32):
//   beta2_t = 1 - (t - step_offset)^decay_rate                      (decay_rate = -0.8)
//   rho_t   = relative_step ? min(warmup_init ? 1e-6 t : 1e-2, 1/sqrt(t)) : lr_t
//   alpha_t = rho_t * (scale_parameter ? max(eps2, RMS(X)) : 1)
//   factored (two dims chosen by `factored_dims`, both >= min_dim_size_to_factor):
//     R_t = beta2_t R_{t-1} + (1 - beta2_t) mean_cols(G^2 + eps1)      row statistics
//     C_t = beta2_t C_{t-1} + (1 - beta2_t) mean_rows(G^2 + eps1)      column statistics
//     U   = G / sqrt(R_t C_t / mean(R_t))
//   otherwise: V_t = beta2_t V_{t-1} + (1 - beta2_t)(G^2 + eps1);  U = G / sqrt(V_t)
//   U   = U / max(1, RMS(U) / clip_threshold)                          update clipping
//   U   = alpha_t U;   with beta1: M_t = beta1 M_{t-1} + (1 - beta1) U, U = M_t
//   X   = X - wd * (weight_decay_scaled_by_lr ? alpha_t : 1) * X - U
// HF factors every tensor of rank >= 2 over its last two dims; T5X factors the two largest
// dims when the smaller of them is at least 128. Leading dims of higher-rank tensors are kept
// as batch dims of the statistics.
//
// State is fp32 whatever the parameter dtype; bf16 parameters are updated in fp32 and written
// back rounded to nearest or, with stochastic_rounding, stochastically (deterministic in the
// step, so resumed runs round identically). Parameters of the same shape are updated together
// as one batched tensor, so a step costs a few dozen kernels per shape, not per parameter.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

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

struct NamedParameter {
  std::string name;
  at::Tensor tensor;  // a leaf whose .grad() holds the gradient at step()
};

class Adafactor {
 public:
  Adafactor(std::vector<NamedParameter> params, AdafactorOptions options);
  ~Adafactor();
  Adafactor(Adafactor&&) noexcept;

  // One update from the parameters' .grad(); parameters without a gradient are left alone
  // (their statistics too). `lr` is the external rate for this step (ignored with relative_step;
  // falls back to options.lr). Never synchronises with the device.
  void step(std::optional<double> lr = std::nullopt);

  int64_t steps_taken() const { return step_; }
  const AdafactorOptions& options() const { return options_; }

  // Optimizer state keyed by meaning: "<param>.exp_avg_sq_row" / "_col" / "exp_avg_sq" /
  // "exp_avg" (fp32 CPU tensors) plus "step". Loading checks names and shapes.
  std::map<std::string, at::Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, at::Tensor>& state);

  // Bytes of optimizer state held on the device.
  int64_t state_bytes() const;

  // How a parameter of this shape is handled: the two dims (d_reduced_for_row, d_reduced_for_col)
  // when factored, nullopt when not. Public so the rule can be tested and documented.
  static std::optional<std::pair<int64_t, int64_t>> factored_dims_for(at::IntArrayRef shape,
                                                                      const AdafactorOptions& options);

 private:
  struct Group;
  AdafactorOptions options_;
  std::vector<NamedParameter> params_;
  std::vector<std::unique_ptr<Group>> groups_;
  int64_t step_ = 0;
};

}  // namespace symtune

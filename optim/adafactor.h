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

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "optim/adafactor_options.h"

namespace symtune {

// fp32 to bf16, rounded stochastically: uniform noise below bf16's last bit, then truncation;
// non-finite values are kept as they are. Shared with the sharded optimizer.
at::Tensor stochastic_round_to_bf16(const at::Tensor& x32, at::Generator& gen);

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
  // falls back to options.lr). Returns rho_t, the rate it applied: the one number to log.
  // Never synchronises with the device.
  double step(std::optional<double> lr = std::nullopt);

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
  // rho_t and beta2_t of step t (counted from 1), shared with the sharded optimizer.
  static double rate_at(const AdafactorOptions& options, int64_t t, std::optional<double> lr);
  static double beta2_at(const AdafactorOptions& options, int64_t t);

 private:
  struct Group;
  double rate(std::optional<double> lr) const;  // rho_t of the coming step
  bool takes_fused_path(const Group& g) const;
  void update_fused(Group& g, const std::vector<int64_t>& active, double rho, double beta2);
  void update_with_ops(Group& g, const std::vector<int64_t>& batch, bool stacked, double rho, double beta2);
  void write_back(at::Tensor& target, const at::Tensor& value32, size_t param_index) const;

  AdafactorOptions options_;
  std::vector<NamedParameter> params_;
  std::vector<std::unique_ptr<Group>> groups_;
  int64_t step_ = 0;
};

}  // namespace symtune

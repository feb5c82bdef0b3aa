// Adafactor over sharded parameters (train.sharding): each rank holds a flat range of every
// tensor, cut anywhere (optim/adafactor_sharded.cpp pads partial rows), and together the ranks
// take exactly the step unsharded Adafactor (optim/adafactor.h) takes on the whole tensors.
// What needs the whole tensor is reduced over the shard group, all tensors at once:
//   1. row and column sums of G^2 of every factored matrix, and sum(X^2) of every tensor when
//      scale_parameter (one all-reduce of sum(rows + cols) + #tensors floats);
//   2. sum(U^2) of every tensor, for the update clipping (one all-reduce of #tensors floats).
// The factored statistics R and C are then identical on every rank (kept whole: they are
// sublinear, rows + cols per matrix); the second moment V (unfactored tensors) and the first
// moment M are sharded like the parameters. bf16 write-back rounds as configured; stochastic
// rounding draws its noise per (seed, step, tensor, the piece's first element), so it is
// deterministic for a given sharding.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "optim/adafactor_options.h"

namespace symtune {

struct ShardedParameter {
  std::string name;
  std::vector<int64_t> shape;  // of the whole tensor (rank 1 or 2)
  int64_t begin = 0, end = 0;  // this rank's elements, flat row-major
  at::Tensor value;            // [end - begin]: a view the update writes into
};

class ShardedAdafactor {
 public:
  ShardedAdafactor(std::vector<ShardedParameter> params, AdafactorOptions options);
  ~ShardedAdafactor();
  ShardedAdafactor(ShardedAdafactor&&) noexcept;

  // One step from `grads` (one per parameter, [end - begin], same order) in three phases: what
  // begin_step returns must be summed over the shard group and given to continue_step, whose
  // result likewise to finish_step. Returns rho_t, as Adafactor::step does.
  at::Tensor begin_step(const std::vector<at::Tensor>& grads, std::optional<double> lr);
  at::Tensor continue_step(const at::Tensor& summed_statistics);
  double finish_step(const at::Tensor& summed_update_squares);
  // The three phases with `sum` (an in-place all-reduce) between them.
  double step(const std::vector<at::Tensor>& grads, std::optional<double> lr,
              const std::function<void(at::Tensor&)>& sum);

  int64_t steps_taken() const { return step_; }
  void set_steps_taken(int64_t step) { step_ = step; }
  const std::vector<ShardedParameter>& parameters() const { return params_; }

  // The state by Adafactor::state_dict's names: whole tensors (the factored statistics) or,
  // when `sharded`, the flat [end - begin] range of the parameter's. Live: writing into them
  // restores a state.
  struct StateEntry {
    std::string key;
    size_t param;
    bool sharded;
    at::Tensor tensor;
  };
  std::vector<StateEntry> state() const;
  int64_t state_bytes() const;

 private:
  struct Slot;
  at::Tensor grad32(size_t k) const;
  at::Tensor unclipped_update(size_t k) const;
  void write_back(size_t k, const at::Tensor& value32);

  AdafactorOptions options_;
  std::vector<ShardedParameter> params_;
  std::vector<std::unique_ptr<Slot>> slots_;
  int64_t step_ = 0, statistics_size_ = 0;
  double rho_ = 0, beta2_ = 0;
};

}  // namespace symtune

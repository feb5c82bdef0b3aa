#include "optim/adafactor_sharded.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "common/error.h"
#include "optim/adafactor.h"

namespace symtune {
namespace {
// splitmix64's finaliser: distinct (seed, step, tensor, piece) tuples get unrelated streams.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

// Per parameter: its factoring, the state, and what a step carries between its phases.
struct ShardedAdafactor::Slot {
  std::optional<std::pair<int64_t, int64_t>> factored;  // (d0, d1) as Adafactor::factored_dims_for
  int64_t rows = 1, cols = 1, numel = 0;                // the whole tensor as [rows, cols]
  int64_t first_row = 0, local_rows = 0, lead = 0;      // the piece's rows, and its offset in the first
  int64_t stats_offset = 0;                             // in the statistics vector
  at::Tensor row_state, col_state, v, m;                // fp32
  at::Tensor grad;                                      // during a step: the caller's, not a copy
  double alpha = 0;
  // The piece's values inside whole rows [local_rows x cols], zeros around it.
  at::Tensor padded(const at::Tensor& piece) const {
    at::Tensor out = at::zeros({local_rows * cols}, piece.options());
    out.narrow(0, lead, piece.numel()).copy_(piece);
    return out.view({local_rows, cols});
  }
};

ShardedAdafactor::ShardedAdafactor(std::vector<ShardedParameter> params, AdafactorOptions options)
    : options_(std::move(options)), params_(std::move(params)) {
  options_.validate("adafactor");
  for (const ShardedParameter& p : params_) {
    if (p.shape.empty() || p.shape.size() > 2)
      throw Error("adafactor (sharded): parameter '" + p.name + "' has rank " + std::to_string(p.shape.size()) +
                  "; sharding handles vectors and matrices");
    auto s = std::make_unique<Slot>();
    s->numel = p.shape.size() == 2 ? p.shape[0] * p.shape[1] : p.shape[0];
    if (p.begin < 0 || p.end < p.begin || p.end > s->numel || p.value.numel() != p.end - p.begin)
      throw Error("adafactor (sharded): parameter '" + p.name + "' has a piece that does not fit its shape");
    auto f32 = at::TensorOptions().dtype(at::kFloat).device(p.value.device());
    s->factored = Adafactor::factored_dims_for(p.shape, options_);
    if (s->factored) {
      s->rows = p.shape[0];
      s->cols = p.shape[1];
      s->first_row = p.begin / s->cols;
      s->lead = p.begin - s->first_row * s->cols;
      s->local_rows = p.end > p.begin ? (s->lead + p.end - p.begin + s->cols - 1) / s->cols : 0;
      s->stats_offset = statistics_size_;
      statistics_size_ += s->rows + s->cols;
      // R is reduced over d0: indexed by rows when d0 is the column dim (HF's choice), else by columns.
      const bool hf_order = s->factored->first == 1;
      s->row_state = at::zeros({hf_order ? s->rows : s->cols}, f32);
      s->col_state = at::zeros({hf_order ? s->cols : s->rows}, f32);
    } else {
      s->v = at::zeros({p.end - p.begin}, f32);
    }
    if (options_.beta1) s->m = at::zeros({p.end - p.begin}, f32);
    slots_.push_back(std::move(s));
  }
}

ShardedAdafactor::~ShardedAdafactor() = default;
ShardedAdafactor::ShardedAdafactor(ShardedAdafactor&&) noexcept = default;

at::Tensor ShardedAdafactor::begin_step(const std::vector<at::Tensor>& grads, std::optional<double> lr) {
  at::NoGradGuard no_grad;
  if (grads.size() != params_.size()) throw Error("adafactor (sharded): one gradient per parameter is needed");
  rho_ = Adafactor::rate_at(options_, step_ + 1, lr);
  beta2_ = Adafactor::beta2_at(options_, step_ + 1);
  const int64_t n_params = static_cast<int64_t>(params_.size());
  at::Tensor stats =
      at::zeros({statistics_size_ + n_params},
                at::TensorOptions().dtype(at::kFloat).device(params_.empty() ? c10::kCPU : params_[0].value.device()));
  for (size_t k = 0; k < params_.size(); ++k) {
    Slot& s = *slots_[k];
    const ShardedParameter& p = params_[k];
    s.grad = grads[k];
    if (p.end == p.begin) continue;
    if (s.factored) {
      const at::Tensor sq = s.padded(at::square(grad32(k)));
      stats.narrow(0, s.stats_offset + s.first_row, s.local_rows).copy_(sq.sum(1));
      stats.narrow(0, s.stats_offset + s.rows, s.cols).copy_(sq.sum(0));
    }
    if (options_.scale_parameter) stats[statistics_size_ + k] = at::square(p.value.to(at::kFloat)).sum();
  }
  return stats;
}

at::Tensor ShardedAdafactor::continue_step(const at::Tensor& summed) {
  at::NoGradGuard no_grad;
  const AdafactorOptions& o = options_;
  at::Tensor squares = at::zeros({static_cast<int64_t>(params_.size())}, summed.options());
  const at::Tensor scale_sums = summed.narrow(0, statistics_size_, static_cast<int64_t>(params_.size())).cpu();
  for (size_t k = 0; k < params_.size(); ++k) {
    Slot& s = *slots_[k];
    const ShardedParameter& p = params_[k];
    s.alpha = o.scale_parameter
                  ? rho_ * std::max(o.eps2, std::sqrt(scale_sums[k].item<double>() / static_cast<double>(s.numel)))
                  : rho_;
    if (s.factored) {
      const bool hf_order = s.factored->first == 1;
      const at::Tensor row_mean = summed.narrow(0, s.stats_offset, s.rows) / static_cast<double>(s.cols) + o.eps1;
      const at::Tensor col_mean =
          summed.narrow(0, s.stats_offset + s.rows, s.cols) / static_cast<double>(s.rows) + o.eps1;
      s.row_state.mul_(beta2_).add_(hf_order ? row_mean : col_mean, 1.0 - beta2_);
      s.col_state.mul_(beta2_).add_(hf_order ? col_mean : row_mean, 1.0 - beta2_);
    } else if (p.end > p.begin) {
      s.v.mul_(beta2_).add_(at::square(grad32(k)).add_(o.eps1), 1.0 - beta2_);
    }
    // The update is formed again in finish_step rather than kept: one tensor's temporaries at a
    // time, not an fp32 copy of every piece.
    if (p.end > p.begin) squares[static_cast<int64_t>(k)] = at::square(unclipped_update(k)).sum();
  }
  return squares;
}

at::Tensor ShardedAdafactor::grad32(size_t k) const {
  const ShardedParameter& p = params_[k];
  const at::Tensor& g = slots_[k]->grad;
  return g.defined() ? g.to(at::kFloat) : at::zeros({p.end - p.begin}, p.value.options().dtype(at::kFloat));
}

// G / sqrt(R C / mean(R)) or G / sqrt(V) for the piece, from the statistics of this step.
at::Tensor ShardedAdafactor::unclipped_update(size_t k) const {
  const Slot& s = *slots_[k];
  const ShardedParameter& p = params_[k];
  if (!s.factored) return s.v.rsqrt().mul_(grad32(k));
  const bool hf_order = s.factored->first == 1;
  const at::Tensor r = (s.row_state / s.row_state.mean()).rsqrt_();
  const at::Tensor c = s.col_state.rsqrt();
  const at::Tensor factor = hf_order ? r.narrow(0, s.first_row, s.local_rows).unsqueeze(1) * c.unsqueeze(0)
                                     : c.narrow(0, s.first_row, s.local_rows).unsqueeze(1) * r.unsqueeze(0);
  return factor.reshape({-1}).narrow(0, s.lead, p.end - p.begin) * grad32(k);
}

double ShardedAdafactor::finish_step(const at::Tensor& summed_squares) {
  at::NoGradGuard no_grad;
  const AdafactorOptions& o = options_;
  const at::Tensor squares = summed_squares.cpu();
  ++step_;
  for (size_t k = 0; k < params_.size(); ++k) {
    Slot& s = *slots_[k];
    const ShardedParameter& p = params_[k];
    if (p.end == p.begin) continue;
    const double rms = std::sqrt(squares[static_cast<int64_t>(k)].item<double>() / static_cast<double>(s.numel));
    at::Tensor update = unclipped_update(k).mul_(s.alpha / std::max(1.0, rms / o.clip_threshold));
    if (o.beta1) {
      s.m.mul_(*o.beta1).add_(update, 1.0 - *o.beta1);
      update = s.m;
    }
    at::Tensor x = p.value.to(at::kFloat);
    if (o.weight_decay != 0.0) x.add_(x * (-o.weight_decay * (o.weight_decay_scaled_by_lr ? s.alpha : 1.0)));
    x.sub_(update);
    write_back(k, x);
  }
  for (auto& s : slots_) s->grad.reset();
  return rho_;
}

double ShardedAdafactor::step(const std::vector<at::Tensor>& grads, std::optional<double> lr,
                              const std::function<void(at::Tensor&)>& sum) {
  at::Tensor stats = begin_step(grads, lr);
  sum(stats);
  at::Tensor squares = continue_step(stats);
  sum(squares);
  return finish_step(squares);
}

void ShardedAdafactor::write_back(size_t k, const at::Tensor& x32) {
  at::Tensor target = params_[k].value;
  if (target.scalar_type() == at::kBFloat16 && options_.stochastic_rounding) {
    at::Generator gen = at::globalContext().defaultGenerator(target.device()).clone();
    gen.set_current_seed(
        mix(mix(mix(options_.seed ^ mix(static_cast<uint64_t>(step_))) ^ k) ^ static_cast<uint64_t>(params_[k].begin)));
    target.copy_(stochastic_round_to_bf16(x32, gen));
  } else {
    target.copy_(x32);
  }
}

std::vector<ShardedAdafactor::StateEntry> ShardedAdafactor::state() const {
  std::vector<StateEntry> out;
  for (size_t k = 0; k < params_.size(); ++k) {
    const Slot& s = *slots_[k];
    const std::string& name = params_[k].name;
    if (s.row_state.defined()) out.push_back({name + ".exp_avg_sq_row", k, false, s.row_state});
    if (s.col_state.defined()) out.push_back({name + ".exp_avg_sq_col", k, false, s.col_state});
    if (s.v.defined()) out.push_back({name + ".exp_avg_sq", k, true, s.v});
    if (s.m.defined()) out.push_back({name + ".exp_avg", k, true, s.m});
  }
  return out;
}

int64_t ShardedAdafactor::state_bytes() const {
  int64_t bytes = 0;
  for (const StateEntry& e : state()) bytes += e.tensor.numel() * e.tensor.element_size();
  return bytes;
}

}  // namespace symtune

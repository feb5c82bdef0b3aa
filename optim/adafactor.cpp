#include "optim/adafactor.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "common/error.h"
#include "optim/adafactor_fused.h"

namespace symtune {

// ---- the optimizer ------------------------------------------------------------------------

namespace {

// Stacked groups are capped so the temporary fp32 copies stay bounded (~512 MiB per group).
constexpr int64_t kMaxGroupElements = int64_t(1) << 27;

std::vector<int64_t> trailing_dims(int64_t rank) {  // dims 1..rank of a stacked [N, ...] tensor
  std::vector<int64_t> d(rank);
  std::iota(d.begin(), d.end(), 1);
  return d;
}

// RMS of each slice of a stacked [N, ...] tensor, as HF computes it: ||x||_2 / sqrt(numel).
at::Tensor rms_per_slice(const at::Tensor& x_N) {
  const int64_t per_slice = x_N.numel() / std::max<int64_t>(x_N.size(0), 1);
  return at::linalg_vector_norm(x_N, 2, trailing_dims(x_N.dim() - 1)) / std::sqrt(static_cast<double>(per_slice));
}

// [N] -> [N, 1, 1, ...] to broadcast against a stacked tensor of rank `rank` + 1.
at::Tensor per_slice(const at::Tensor& v_N, int64_t rank) {
  std::vector<int64_t> shape(rank + 1, 1);
  shape[0] = v_N.size(0);
  return v_N.view(shape);
}

}  // namespace

// Rounds fp32 to bf16 stochastically: add uniform noise below bf16's last bit, then truncate.
at::Tensor stochastic_round_to_bf16(const at::Tensor& x32, at::Generator& gen) {
  at::Tensor bits = x32.contiguous().view(at::kInt);
  at::Tensor noise =
      at::randint(0, 1 << 16, x32.sizes(), gen, at::TensorOptions().dtype(at::kInt).device(x32.device()));
  constexpr int64_t kHigh16Bits = -65536;  // 0xFFFF0000 as a signed 32-bit value
  at::Tensor rounded = (bits + noise).bitwise_and(kHigh16Bits);
  // Keep non-finite values as they are (the noise must not turn inf into NaN).
  return at::where(x32.isfinite(), rounded.view(at::kFloat), x32).to(at::kBFloat16);
}

struct Adafactor::Group {
  std::vector<size_t> members;  // indices into params_
  std::vector<int64_t> shape;   // of one member
  std::optional<std::pair<int64_t, int64_t>> factored;
  at::Tensor row_N, col_N, v_N, m_N;  // fp32 state, stacked over members
};

std::optional<std::pair<int64_t, int64_t>> Adafactor::factored_dims_for(at::IntArrayRef shape,
                                                                        const AdafactorOptions& o) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank < 2) return std::nullopt;
  int64_t d0 = rank - 1, d1 = rank - 2;  // d0: reduced for row statistics; d1: for column statistics
  if (o.factored_dims == FactoredDims::kLargestTwo) {
    std::vector<int64_t> order(rank);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return shape[a] < shape[b]; });
    d0 = order[rank - 1];
    d1 = order[rank - 2];
  }
  if (std::min(shape[d0], shape[d1]) < o.min_dim_size_to_factor) return std::nullopt;
  return std::make_pair(d0, d1);
}

Adafactor::Adafactor(std::vector<NamedParameter> params, AdafactorOptions options)
    : options_(std::move(options)), params_(std::move(params)) {
  options_.validate("adafactor");
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& p = params_[i].tensor;
    if (!p.is_floating_point()) throw Error("adafactor: parameter '" + params_[i].name + "' is not floating point");
    const std::vector<int64_t> shape = p.sizes().vec();
    Group* group = nullptr;
    for (auto& g : groups_) {
      const at::Tensor& first = params_[g->members[0]].tensor;
      if (g->shape == shape && first.device() == p.device() && first.scalar_type() == p.scalar_type() &&
          static_cast<int64_t>(g->members.size() + 1) * p.numel() <= kMaxGroupElements) {
        group = g.get();
        break;
      }
    }
    if (group == nullptr) {
      groups_.push_back(std::make_unique<Group>());
      group = groups_.back().get();
      group->shape = shape;
      group->factored = factored_dims_for(shape, options_);
    }
    group->members.push_back(i);
  }
  if (options_.batching == AdafactorOptions::Batching::kFused) {
    for (const auto& p : params_) {
      if (p.tensor.is_cuda() && !fused_adafactor_compiled())
        throw Error(
            "adafactor: 'implementation': \"fused\" on CUDA needs a build with nvcc; this one has no fused "
            "kernels (parameter '" +
            p.name + "')");
      if (!p.tensor.is_cuda() && !p.tensor.is_cpu())
        throw Error("adafactor: 'implementation': \"fused\" runs on CPU or CUDA; parameter '" + p.name + "' is on " +
                    p.tensor.device().str());
    }
  }
  for (auto& g : groups_) {
    const int64_t n = static_cast<int64_t>(g->members.size());
    auto f32 = at::TensorOptions().dtype(at::kFloat).device(params_[g->members[0]].tensor.device());
    std::vector<int64_t> full{n};
    full.insert(full.end(), g->shape.begin(), g->shape.end());
    if (g->factored) {
      auto [d0, d1] = *g->factored;
      std::vector<int64_t> row = full, col = full;
      row.erase(row.begin() + 1 + d0);
      col.erase(col.begin() + 1 + d1);
      g->row_N = at::zeros(row, f32);
      g->col_N = at::zeros(col, f32);
    } else {
      g->v_N = at::zeros(full, f32);
    }
    if (options_.beta1) g->m_N = at::zeros(full, f32);
  }
}

Adafactor::~Adafactor() = default;
Adafactor::Adafactor(Adafactor&&) noexcept = default;

double Adafactor::rate(std::optional<double> lr) const { return rate_at(options_, step_ + 1, lr); }

double Adafactor::beta2_at(const AdafactorOptions& options, int64_t t) {
  const double decay_t = std::max<double>(1.0, static_cast<double>(t - options.step_offset));
  return 1.0 - std::pow(decay_t, options.decay_rate);
}

double Adafactor::rate_at(const AdafactorOptions& o, int64_t step, std::optional<double> lr) {
  if (o.relative_step) {
    const double t = static_cast<double>(step);
    return std::min(o.warmup_init ? 1e-6 * t : 1e-2, 1.0 / std::sqrt(t));
  }
  if (!lr && !o.lr)
    throw Error("adafactor: no learning rate: set 'lr', pass one from a schedule, or use 'relative_step'");
  const double rho = lr ? *lr : *o.lr;
  if (!std::isfinite(rho) || rho < 0) throw Error("adafactor: learning rate " + std::to_string(rho) + " is not valid");
  return rho;
}

double Adafactor::step(std::optional<double> lr) {
  at::NoGradGuard no_grad;
  const double rho = rate(lr);
  ++step_;
  const double beta2 = beta2_at(options_, step_);
  for (auto& g : groups_) {
    std::vector<int64_t> active;  // members with a gradient; the others keep their statistics
    for (size_t k = 0; k < g->members.size(); ++k)
      if (params_[g->members[k]].tensor.grad().defined()) active.push_back(static_cast<int64_t>(k));
    if (active.empty()) continue;
    if (takes_fused_path(*g)) {
      update_fused(*g, active, rho, beta2);
      continue;
    }
    // On CUDA a whole group is stacked into one batch, so a step launches a few dozen kernels
    // per shape instead of per parameter; on the CPU there is no launch cost to save, and
    // updating each member in place avoids the stacked copies.
    const bool stack_wanted =
        options_.batching == AdafactorOptions::Batching::kStacked ||
        (options_.batching != AdafactorOptions::Batching::kOneByOne && params_[g->members[0]].tensor.is_cuda());
    if (stack_wanted && active.size() == g->members.size() && active.size() > 1) {
      update_with_ops(*g, active, /*stacked=*/true, rho, beta2);
    } else {
      for (int64_t k : active) update_with_ops(*g, {k}, /*stacked=*/false, rho, beta2);
    }
  }
  return rho;
}

// The fused kernels handle the last two dims as the factored pair, and round to nearest.
bool Adafactor::takes_fused_path(const Group& g) const {
  const int64_t rank = static_cast<int64_t>(g.shape.size());
  const bool bf16_stochastic =
      options_.stochastic_rounding && params_[g.members[0]].tensor.scalar_type() == at::kBFloat16;
  return options_.batching == AdafactorOptions::Batching::kFused && !bf16_stochastic &&
         (!g.factored || *g.factored == std::make_pair(rank - 1, rank - 2));
}

void Adafactor::update_fused(Group& g, const std::vector<int64_t>& active, double rho, double beta2) {
  const AdafactorOptions& o = options_;
  FusedAdafactorScalars s;
  s.rho = rho;
  s.beta2 = beta2;
  s.eps1 = o.eps1;
  s.eps2 = o.eps2;
  s.clip_threshold = o.clip_threshold;
  s.scale_parameter = o.scale_parameter;
  s.has_beta1 = o.beta1.has_value();
  s.beta1 = o.beta1.value_or(0.0);
  s.weight_decay = o.weight_decay;
  s.weight_decay_scaled_by_lr = o.weight_decay_scaled_by_lr;
  for (int64_t k : active) {
    const at::Tensor& param = params_[g.members[k]].tensor;
    FusedAdafactorTensors t{param, param.grad().contiguous(), {}, {}, {}, {}};
    if (g.factored) {
      t.row = g.row_N[k];
      t.col = g.col_N[k];
    } else {
      t.v = g.v_N[k];
    }
    if (o.beta1) t.m = g.m_N[k];
    fused_adafactor_update(t, s);
  }
}

namespace {

// Updates the factored statistics R, C (views of the state) with G^2 and returns
// G / sqrt(R C / mean(R)), the unclipped update. d0 is reduced for R, d1 for C (dims of one member).
at::Tensor factored_update(at::Tensor row, at::Tensor col, const at::Tensor& grad, int64_t d0, int64_t d1, double beta2,
                           double eps1) {
  at::Tensor sq = at::square(grad);
  // mean(G^2 + eps1) taken as mean(G^2) + eps1: one pass less over the gradient, and the same
  // value unless G^2 is within rounding of eps1 (1e-30).
  row.mul_(beta2).add_(sq.mean(1 + d0).add_(eps1), 1.0 - beta2);
  col.mul_(beta2).add_(sq.mean(1 + d1).add_(eps1), 1.0 - beta2);
  sq.reset();
  const int64_t d1_in_row = 1 + (d1 < d0 ? d1 : d1 - 1);
  at::Tensor row_factor = (row / row.mean(d1_in_row, /*keepdim=*/true)).rsqrt_().unsqueeze(1 + d0);
  at::Tensor col_factor = col.unsqueeze(1 + d1).rsqrt();
  return (row_factor * col_factor).mul_(grad);
}

// Updates the full second moment V (a view of the state) and returns G / sqrt(V).
at::Tensor unfactored_update(at::Tensor v, const at::Tensor& grad, double beta2, double eps1) {
  v.mul_(beta2).add_(at::square(grad).add_(eps1), 1.0 - beta2);
  return v.rsqrt().mul_(grad);
}

}  // namespace

// One batch of a group's members (all of them stacked, or one alone) in fp32 LibTorch ops, in
// the order of the update rule in adafactor.h.
void Adafactor::update_with_ops(Group& g, const std::vector<int64_t>& batch, bool stacked, double rho, double beta2) {
  const AdafactorOptions& o = options_;
  const int64_t rank = static_cast<int64_t>(g.shape.size());
  auto slice = [&](const at::Tensor& state) { return stacked ? state : state.narrow(0, batch[0], 1); };
  std::vector<at::Tensor> grads, params;
  for (int64_t k : batch) {
    grads.push_back(params_[g.members[k]].tensor.grad());
    params.push_back(params_[g.members[k]].tensor);
  }
  const at::Tensor grad = stacked ? at::stack(grads).to(at::kFloat) : grads[0].to(at::kFloat).unsqueeze(0);
  // An fp32 parameter updated alone is updated in place through a view; otherwise p is an
  // fp32 working copy written back at the end.
  at::Tensor p = stacked ? at::stack(params).to(at::kFloat) : params[0].to(at::kFloat).unsqueeze(0);

  at::Tensor alpha_N =
      o.scale_parameter ? rms_per_slice(p).clamp_min(o.eps2) * rho : at::full({grad.size(0)}, rho, grad.options());
  at::Tensor update = g.factored ? factored_update(slice(g.row_N), slice(g.col_N), grad, g.factored->first,
                                                   g.factored->second, beta2, o.eps1)
                                 : unfactored_update(slice(g.v_N), grad, beta2, o.eps1);
  // Clip by RMS and scale by the step size in one pass: U * alpha / max(1, RMS(U) / d).
  update.mul_(per_slice(alpha_N / (rms_per_slice(update) / o.clip_threshold).clamp_min_(1.0), rank));
  if (o.beta1) {
    at::Tensor m = slice(g.m_N);
    m.mul_(*o.beta1).add_(update, 1.0 - *o.beta1);
    update = m;
  }
  if (o.weight_decay != 0.0) {
    at::Tensor rate = o.weight_decay_scaled_by_lr ? per_slice(alpha_N * -o.weight_decay, rank)
                                                  : at::scalar_tensor(-o.weight_decay, p.options());
    p.add_(p * rate);
  }
  p.sub_(update);
  if (!stacked && params[0].scalar_type() == at::kFloat) return;  // updated in place
  for (size_t k = 0; k < params.size(); ++k) write_back(params[k], p[k], g.members[batch[k]]);
}

// The fp32 result into the parameter's dtype: bf16 rounded stochastically when asked, seeded by
// (seed, step, parameter) so a resumed run rounds exactly as the uninterrupted one.
void Adafactor::write_back(at::Tensor& target, const at::Tensor& value32, size_t param_index) const {
  if (target.scalar_type() == at::kBFloat16 && options_.stochastic_rounding) {
    at::Generator gen = at::globalContext().defaultGenerator(target.device()).clone();
    gen.set_current_seed(options_.seed * 1000003ull + static_cast<uint64_t>(step_) * 7919ull + param_index);
    target.copy_(stochastic_round_to_bf16(value32, gen));
  } else {
    target.copy_(value32);
  }
}

int64_t Adafactor::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& g : groups_)
    for (const at::Tensor* t : {&g->row_N, &g->col_N, &g->v_N, &g->m_N})
      if (t->defined()) bytes += t->numel() * t->element_size();
  return bytes;
}

std::map<std::string, at::Tensor> Adafactor::state_dict() const {
  std::map<std::string, at::Tensor> out;
  out["step"] = at::scalar_tensor(step_, at::kLong);
  for (const auto& g : groups_)
    for (size_t k = 0; k < g->members.size(); ++k) {
      const std::string& name = params_[g->members[k]].name;
      auto put = [&](const char* suffix, const at::Tensor& state) {
        if (state.defined()) out[name + "." + suffix] = state[k].to(at::kCPU).clone();
      };
      put("exp_avg_sq_row", g->row_N);
      put("exp_avg_sq_col", g->col_N);
      put("exp_avg_sq", g->v_N);
      put("exp_avg", g->m_N);
    }
  return out;
}

void Adafactor::load_state_dict(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  auto it = state.find("step");
  if (it == state.end()) throw Error("adafactor state: 'step' is missing");
  size_t used = 1;
  for (auto& g : groups_)
    for (size_t k = 0; k < g->members.size(); ++k) {
      const std::string& name = params_[g->members[k]].name;
      auto take = [&](const char* suffix, at::Tensor& dst) {
        if (!dst.defined()) return;
        auto found = state.find(name + "." + suffix);
        if (found == state.end())
          throw Error("adafactor state: '" + name + "." + suffix +
                      "' is missing (was the model or the "
                      "optimizer configuration changed since the checkpoint?)");
        if (found->second.sizes() != dst[k].sizes())
          throw Error("adafactor state: '" + name + "." + suffix + "' has shape " + c10::str(found->second.sizes()) +
                      ", expected " + c10::str(dst[k].sizes()));
        dst[k].copy_(found->second);
        ++used;
      };
      take("exp_avg_sq_row", g->row_N);
      take("exp_avg_sq_col", g->col_N);
      take("exp_avg_sq", g->v_N);
      take("exp_avg", g->m_N);
    }
  if (used != state.size()) {
    for (const auto& [key, value] : state) {
      bool known = key == "step";
      for (const auto& p : params_)
        for (const char* s : {".exp_avg_sq_row", ".exp_avg_sq_col", ".exp_avg_sq", ".exp_avg"})
          known = known || key == p.name + s;
      if (!known) throw Error("adafactor state: unexpected entry '" + key + "'");
    }
    throw Error("adafactor state: entries do not match this optimizer's configuration (beta1 or factoring changed?)");
  }
  step_ = it->second.item<int64_t>();
}

void fused_adafactor_update(const FusedAdafactorTensors& t, const FusedAdafactorScalars& s) {
  if (t.param.is_cuda()) fused_adafactor_update_cuda(t, s);
  else fused_adafactor_update_cpu(t, s);
}

}  // namespace symtune

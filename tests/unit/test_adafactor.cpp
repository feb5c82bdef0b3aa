// Adafactor: T5X's rules against hand-derived values, exact state round trips, bf16 and
// stochastic rounding, option errors, and the schedules and clipping beside it. (Agreement
// with HF transformers is in test_adafactor_parity.cpp.)
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/safetensors.h"
#include "optim/adafactor.h"
#include "optim/grad_clip.h"
#include "optim/lr_schedule.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

double relative_error(const at::Tensor& ours, const at::Tensor& reference) {
  return test::max_abs_diff(ours, reference) / reference.abs().max().item<double>();
}

// ---- T5X rules against values computed by hand from the update formulas ---------------------

// One Adafactor step in double precision for a 3-D tensor, factored over dims (d0, d1) as
// optax does (d0: reduced for the row statistic, d1: for the column statistic), or not at
// all. No parameter scaling, no clipping (the threshold is set high), external lr.
at::Tensor hand_step_3d(const at::Tensor& p, const at::Tensor& g, double lr, double beta2, double eps1,
                        std::optional<std::pair<int, int>> dims, double wd_decoupled) {
  auto P = p.to(at::kDouble), G = g.to(at::kDouble);
  auto gp = G.accessor<double, 3>();
  const int64_t n[3] = {G.size(0), G.size(1), G.size(2)};
  at::Tensor U = at::zeros_like(G);
  auto up = U.accessor<double, 3>();
  if (!dims) {
    for (int64_t a = 0; a < n[0]; ++a)
      for (int64_t b = 0; b < n[1]; ++b)
        for (int64_t c = 0; c < n[2]; ++c) {
          const double v = (1 - beta2) * (gp[a][b][c] * gp[a][b][c] + eps1);
          up[a][b][c] = gp[a][b][c] / std::sqrt(v);
        }
  } else {
    const int d0 = dims->first, d1 = dims->second, batch = 3 - d0 - d1;
    auto at3 = [&](int64_t i0, int64_t i1, int64_t ib, int64_t* idx) {  // index by (d0, d1, batch) roles
      idx[d0] = i0;
      idx[d1] = i1;
      idx[batch] = ib;
    };
    for (int64_t ib = 0; ib < n[batch]; ++ib) {
      std::vector<double> row(n[d1], 0.0), col(n[d0], 0.0);  // row: indexed by d1, mean over d0
      int64_t idx[3];
      for (int64_t i1 = 0; i1 < n[d1]; ++i1)
        for (int64_t i0 = 0; i0 < n[d0]; ++i0) {
          at3(i0, i1, ib, idx);
          const double sq = gp[idx[0]][idx[1]][idx[2]] * gp[idx[0]][idx[1]][idx[2]] + eps1;
          row[i1] += sq / n[d0];
          col[i0] += sq / n[d1];
        }
      double row_mean = 0;
      for (auto& r : row) row_mean += (1 - beta2) * r / n[d1];
      for (int64_t i1 = 0; i1 < n[d1]; ++i1)
        for (int64_t i0 = 0; i0 < n[d0]; ++i0) {
          at3(i0, i1, ib, idx);
          const double v_hat = (1 - beta2) * row[i1] * (1 - beta2) * col[i0] / row_mean;
          up[idx[0]][idx[1]][idx[2]] = gp[idx[0]][idx[1]][idx[2]] / std::sqrt(v_hat);
        }
    }
  }
  return (P - wd_decoupled * P - lr * U).to(at::kFloat);
}

TEST(Adafactor, T5xFactorsTheTwoLargestDimsNotTheLastTwo) {
  AdafactorOptions o = AdafactorOptions::t5x();
  EXPECT_EQ(Adafactor::factored_dims_for({140, 3, 130}, o), std::make_pair(int64_t(0), int64_t(2)));
  EXPECT_EQ(Adafactor::factored_dims_for({3, 200, 150}, o), std::make_pair(int64_t(1), int64_t(2)));
  EXPECT_EQ(Adafactor::factored_dims_for({100, 300}, o), std::nullopt);  // 100 < 128
  EXPECT_EQ(Adafactor::factored_dims_for({300}, o), std::nullopt);
  AdafactorOptions hf;
  EXPECT_EQ(Adafactor::factored_dims_for({140, 3, 130}, hf), std::make_pair(int64_t(2), int64_t(1)));
  EXPECT_EQ(Adafactor::factored_dims_for({2, 3}, hf), std::make_pair(int64_t(1), int64_t(0)));

  at::manual_seed(5);
  for (auto shape : {std::vector<int64_t>{140, 3, 130}, std::vector<int64_t>{3, 100, 300}}) {
    at::Tensor p0 = at::randn(shape), g = at::randn(shape);
    AdafactorOptions t5x = AdafactorOptions::t5x();
    t5x.scale_parameter = false;
    t5x.clip_threshold = 1e9;
    t5x.lr = 0.01;
    t5x.weight_decay = 0.1;
    NamedParameter p{"w", p0.clone().requires_grad_(true)};
    Adafactor opt({p}, t5x);
    p.tensor.mutable_grad() = g;
    opt.step();
    std::optional<std::pair<int, int>> dims;
    if (auto d = Adafactor::factored_dims_for(shape, t5x)) dims = std::make_pair(int(d->first), int(d->second));
    const double beta2 = 1 - std::pow(1.0, -0.8);  // 0 at t = 1: the statistics are this step's alone
    at::Tensor expected = hand_step_3d(p0, g, 0.01, beta2, 1e-30, dims, /*wd_decoupled=*/0.1);
    EXPECT_LE(relative_error(p.tensor.detach(), expected), 1e-6) << "shape " << c10::str(shape);
    // And the factoring must matter: the unfactored answer is different.
    if (dims) EXPECT_GT(relative_error(hand_step_3d(p0, g, 0.01, beta2, 1e-30, std::nullopt, 0.1), expected), 1e-3);
  }
}

TEST(Adafactor, StepOffsetRestartsTheSecondMomentDecay) {
  // decay_t = t - step_offset, floored at 1: while t <= offset + 1, beta2_t = 0 and each step
  // sees only its own gradient statistics, so every step equals a fresh optimizer's first.
  at::manual_seed(3);
  AdafactorOptions o;
  o.relative_step = false;
  o.scale_parameter = false;
  o.lr = 0.01;
  o.step_offset = 3;
  NamedParameter p{"w", at::randn({16, 8}).requires_grad_(true)};
  Adafactor opt({p}, o);
  // One step of `opt`, and whether it equals a fresh optimizer's first step from the same point.
  auto step_equals_fresh_first_step = [&] {
    at::Tensor before = p.tensor.detach().clone();
    at::Tensor g = at::randn({16, 8});
    p.tensor.mutable_grad() = g;
    opt.step();
    AdafactorOptions fresh_options = o;
    fresh_options.step_offset = 0;
    NamedParameter q{"w", before.requires_grad_(true)};
    Adafactor fresh({q}, fresh_options);
    q.tensor.mutable_grad() = g;
    fresh.step();
    return at::equal(p.tensor, q.tensor);
  };
  for (int t = 1; t <= 4; ++t) EXPECT_TRUE(step_equals_fresh_first_step()) << "step " << t;
  // After the offset the statistics accumulate again, and the two differ.
  EXPECT_FALSE(step_equals_fresh_first_step());
}

TEST(Adafactor, DecoupledWeightDecayIsNotScaledByTheLearningRate) {
  at::Tensor p0 = at::ones({4});
  auto run = [&](bool scaled) {
    AdafactorOptions o;
    o.relative_step = false;
    o.scale_parameter = false;
    o.lr = 0.5;
    o.weight_decay = 0.1;
    o.weight_decay_scaled_by_lr = scaled;
    NamedParameter p{"w", p0.clone().requires_grad_(true)};
    Adafactor opt({p}, o);
    p.tensor.mutable_grad() = at::zeros({4});  // isolate the decay: the update is 0
    opt.step();
    return p.tensor.detach()[0].item<double>();
  };
  EXPECT_NEAR(run(true), 1.0 - 0.1 * 0.5, 1e-7);  // HF: wd * lr
  EXPECT_NEAR(run(false), 1.0 - 0.1, 1e-7);       // T5X: wd alone
}

TEST(Adafactor, StateDictRoundTripsExactlyAndResumesBitIdentically) {
  at::manual_seed(1);
  std::vector<at::Tensor> init{at::randn({64, 48}), at::randn({7}), at::randn({3, 20, 30})};
  AdafactorOptions o;
  o.beta1 = 0.9;
  auto make = [&] {
    std::vector<NamedParameter> ps;
    for (size_t i = 0; i < init.size(); ++i)
      ps.push_back({"p" + std::to_string(i), init[i].clone().requires_grad_(true)});
    return ps;
  };
  auto grad_at = [&](const at::Tensor& p, int t) { return at::sin(p.detach() * (t + 1)); };
  auto straight = make();
  Adafactor a(straight, o);
  for (int t = 0; t < 10; ++t) {
    for (auto& p : straight) p.tensor.mutable_grad() = grad_at(p.tensor, t);
    a.step();
  }
  auto first = make();
  Adafactor b(first, o);
  for (int t = 0; t < 5; ++t) {
    for (auto& p : first) p.tensor.mutable_grad() = grad_at(p.tensor, t);
    b.step();
  }
  auto saved = b.state_dict();
  test::ScratchDir dir;  // through a file, as the trainer will do it
  std::vector<std::pair<std::string, at::Tensor>> float_state;
  for (auto& [k, v] : saved)
    if (k != "step") float_state.emplace_back(k, v);
  write_safetensors(dir / "opt.safetensors", float_state);
  auto file = SafetensorsFile::open(dir / "opt.safetensors");
  std::map<std::string, at::Tensor> loaded{{"step", saved["step"]}};
  for (const auto& e : file.entries()) loaded[e.name] = file.load(e.name);
  std::vector<NamedParameter> resumed;
  for (auto& p : first) resumed.push_back({p.name, p.tensor.detach().clone().requires_grad_(true)});
  Adafactor c(resumed, o);
  c.load_state_dict(loaded);
  EXPECT_EQ(c.steps_taken(), 5);
  for (int t = 5; t < 10; ++t) {
    for (auto& p : resumed) p.tensor.mutable_grad() = grad_at(p.tensor, t);
    c.step();
  }
  for (size_t i = 0; i < init.size(); ++i) EXPECT_TRUE(at::equal(straight[i].tensor, resumed[i].tensor)) << i;
  for (auto& [k, v] : c.state_dict()) EXPECT_TRUE(at::equal(v, a.state_dict().at(k))) << k;

  loaded.erase("p0.exp_avg");
  Adafactor d(make(), o);
  EXPECT_THROW(d.load_state_dict(loaded), Error);
}

TEST(Adafactor, Bf16ParametersUpdateInFp32AndRoundStochasticallyAndDeterministically) {
  at::manual_seed(2);
  at::Tensor p32 = at::randn({256, 256});
  auto run = [&](bool stochastic) {
    AdafactorOptions o;
    o.stochastic_rounding = stochastic;
    NamedParameter p{"w", p32.to(at::kBFloat16).requires_grad_(true)};
    Adafactor opt({p}, o);
    p.tensor.mutable_grad() = at::full({256, 256}, 1e-3).to(at::kBFloat16);
    opt.step();
    return p.tensor.detach().clone();
  };
  at::Tensor nearest = run(false), s1 = run(true), s2 = run(true);
  EXPECT_EQ(nearest.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(s1, s2));  // same seed and step: same rounding
  EXPECT_FALSE(at::equal(s1, nearest));
  // Stochastic rounding is unbiased: its mean error against the fp32 result is far below
  // half a bf16 ulp, while each element is within one ulp.
  AdafactorOptions o;
  NamedParameter ref{"w", p32.to(at::kBFloat16).to(at::kFloat).requires_grad_(true)};
  Adafactor opt({ref}, o);
  ref.tensor.mutable_grad() = at::full({256, 256}, 1e-3).to(at::kBFloat16).to(at::kFloat);
  opt.step();
  at::Tensor exact = ref.tensor.detach();
  at::Tensor err = s1.to(at::kFloat) - exact;
  at::Tensor ulp = exact.abs() * std::pow(2.0, -7);
  EXPECT_TRUE((err.abs() <= ulp * 1.01).all().item<bool>());
  EXPECT_LT((err / ulp).mean().abs().item<double>(), 0.02);
}

TEST(Adafactor, BadOptionsAreClearErrors) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      parse_adafactor_options(json::parse(text), "optimizer");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(R"({"lrr": 0.1})").find("unknown key 'lrr' (did you mean 'lr'?)"), std::string::npos);
  EXPECT_NE(error_of(R"({"lr": 0.1, "relative_step": true})").find("'lr' is set together with 'relative_step'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"lr": -0.1})").find("'lr' must be null or in (0, 1000], found -0.1"), std::string::npos);
  EXPECT_NE(error_of(R"({"beta1": 1.5})").find("'beta1' must be null or in [0, 1), found 1.5"), std::string::npos);
  EXPECT_NE(error_of(R"({"weight_decay": -1})").find("'weight_decay' must be in [0, 1], found -1"), std::string::npos);
  EXPECT_NE(error_of(R"({"decay_rate": 0.8})").find("'decay_rate' must be in [-10, 0), found 0.8"), std::string::npos);
  EXPECT_NE(error_of(R"({"clip_threshold": "big"})").find("'clip_threshold' must be a number"), std::string::npos);
  EXPECT_NE(error_of(R"({"warmup_init": true, "relative_step": false, "lr": 0.1})").find("warmup_init"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"preset": "adam"})").find("'preset' must be"), std::string::npos);
  AdafactorOptions nan;
  nan.eps2 = std::nan("");
  EXPECT_THROW(nan.validate("optimizer"), Error);
  EXPECT_EQ(error_of(R"({"preset": "t5x", "lr": 0.003})"), "");
  EXPECT_NE(error_of(R"({"implementation": "triton"})").find("'implementation' must be"), std::string::npos);
  // "fused" runs on the CPU too (the same passes as the CUDA kernels, as loops).
  AdafactorOptions fused = parse_adafactor_options(json::parse(R"({"implementation": "fused"})"), "optimizer");
  std::vector<NamedParameter> cpu_params{{"w", at::zeros({4, 4}).requires_grad_(true)}};
  EXPECT_NO_THROW(Adafactor(cpu_params, fused));
}

TEST(Adafactor, FactoredStateIsASmallFractionOfAdamW) {
  // A Llama-like set of matrices: factored statistics are O(rows + cols), not O(rows * cols).
  std::vector<NamedParameter> ps;
  int64_t numel = 0;
  for (int i = 0; i < 4; ++i) {
    ps.push_back({"w" + std::to_string(i), at::zeros({512, 1376}).requires_grad_(true)});
    ps.push_back({"n" + std::to_string(i), at::zeros({512}).requires_grad_(true)});
    numel += 512 * 1376 + 512;
  }
  Adafactor opt(ps, AdafactorOptions{});
  const int64_t adamw = 2 * numel * 4;
  EXPECT_LT(opt.state_bytes() * 50, adamw);
}

// ---- schedules and clipping ---------------------------------------------------------------

TEST(LrSchedule, WarmupComposesWithEveryDecay) {
  ScheduleConfig c;
  c.peak_lr = 1.0;
  c.warmup_steps = 10;
  c.total_steps = 110;
  c.final_lr = 0.1;
  for (auto kind :
       {ScheduleKind::kConstant, ScheduleKind::kInverseSqrt, ScheduleKind::kCosine, ScheduleKind::kLinear}) {
    c.kind = kind;
    EXPECT_DOUBLE_EQ(c.lr_at(0), 0.0);
    EXPECT_DOUBLE_EQ(c.lr_at(5), 0.5);
    EXPECT_DOUBLE_EQ(c.lr_at(10), 1.0);
  }
  c.kind = ScheduleKind::kConstant;
  EXPECT_DOUBLE_EQ(c.lr_at(50), 1.0);
  EXPECT_DOUBLE_EQ(c.lr_at(5000), 1.0);
  c.kind = ScheduleKind::kLinear;
  EXPECT_DOUBLE_EQ(c.lr_at(60), 1.0 - 0.9 * 0.5);
  EXPECT_DOUBLE_EQ(c.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(c.lr_at(500), 0.1);
  c.kind = ScheduleKind::kInverseSqrt;
  EXPECT_DOUBLE_EQ(c.lr_at(40), std::sqrt(10.0 / 40.0));
  c.kind = ScheduleKind::kCosine;
  EXPECT_NEAR(c.lr_at(60), 0.1 + 0.9 * 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(c.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(c.lr_at(500), 0.1);
  c.kind = ScheduleKind::kLinear;
  EXPECT_NEAR(c.lr_at(85), 0.1 + 0.9 * 0.25, 1e-12);
  EXPECT_THROW(parse_schedule(json::parse(R"({"kind": "cosine", "peak_lr": 1e-3, "total_steps": 0})"), "schedule"),
               Error);
  EXPECT_THROW(parse_schedule(json::parse(R"({"kind": "step"})"), "schedule"), Error);
  EXPECT_THROW(parse_schedule(json::parse(R"({"warmup": 10})"), "schedule"), Error);
}

TEST(GradClip, ScalesToTheGlobalNormAndReportsItBeforeClipping) {
  at::Tensor a = at::zeros({2}).requires_grad_(true), b = at::zeros({1}).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f});
  b.mutable_grad() = at::tensor({4.0f});
  at::Tensor norm = clip_grad_norm({a, b}, 1.0);
  EXPECT_NEAR(norm.item<double>(), 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-6);
  EXPECT_NEAR(b.grad()[0].item<double>(), 0.8, 1e-6);
  EXPECT_NEAR(clip_grad_norm({a, b}, 10.0).item<double>(), 1.0, 1e-5);  // under the bound: unchanged
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-6);
  b.mutable_grad() = at::tensor({std::numeric_limits<float>::infinity()});
  EXPECT_FALSE(std::isfinite(clip_grad_norm({a, b}, 1.0).item<double>()));
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-6);  // left alone for the caller to skip
}

}  // namespace
}  // namespace symtune

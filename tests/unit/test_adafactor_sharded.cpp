// Sharded Adafactor against unsharded Adafactor: the same parameters cut into flat pieces over
// 3 and 4 simulated ranks (rows cut anywhere, ranks with no piece of a tensor), stepped 100 times
// with the reductions done by summing the ranks' vectors, end within fp32 rounding of the whole
// tensors' optimizer, for HF's rules and T5X's (largest-two factoring, decoupled decay).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdio>

#include "common/error.h"

#include "optim/adafactor.h"
#include "optim/adafactor_sharded.h"
#include "test_support.h"

namespace symtune {
namespace {

struct Layout {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> offsets;
  int64_t total = 0, shard = 0;
};

Layout layout_of(std::vector<std::vector<int64_t>> shapes, int64_t ranks) {
  Layout l{std::move(shapes), {}, 0, 0};
  for (const auto& s : l.shapes) {
    l.offsets.push_back(l.total);
    l.total += s.size() == 2 ? s[0] * s[1] : s[0];
  }
  l.shard = (l.total + ranks - 1) / ranks;
  return l;
}

double run_and_compare(const AdafactorOptions& options, int64_t ranks, int64_t steps) {
  const Layout l = layout_of({{7, 5}, {13}, {3, 11}, {9, 4}, {2, 17}}, ranks);
  at::manual_seed(3);
  std::vector<NamedParameter> whole;
  for (size_t k = 0; k < l.shapes.size(); ++k)
    whole.push_back({"p" + std::to_string(k), at::randn(l.shapes[k]).requires_grad_(true)});
  Adafactor reference(whole, options);
  // Each rank's shard: the concatenation of the tensors, its [r L, (r + 1) L) slice.
  std::vector<at::Tensor> shards;
  std::vector<ShardedAdafactor> sharded;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> ranges(ranks);  // per rank, per tensor: [begin, end)
  {
    std::vector<at::Tensor> flat;
    for (auto& p : whole) flat.push_back(p.tensor.detach().reshape({-1}));
    at::Tensor all = at::cat(flat);
    for (int64_t r = 0; r < ranks; ++r) {
      at::Tensor shard = at::zeros({l.shard});
      const int64_t lo = r * l.shard, hi = std::min(l.total, lo + l.shard);
      if (hi > lo) shard.narrow(0, 0, hi - lo).copy_(all.narrow(0, lo, hi - lo));
      std::vector<ShardedParameter> params;
      for (size_t k = 0; k < l.shapes.size(); ++k) {
        const int64_t numel = whole[k].tensor.numel();
        const int64_t b = std::max(l.offsets[k], lo), e = std::min(l.offsets[k] + numel, hi);
        const int64_t begin = e > b ? b - l.offsets[k] : 0, end = e > b ? e - l.offsets[k] : 0;
        ranges[r].push_back({begin, end});
        params.push_back({whole[k].name, l.shapes[k], begin, end, shard.narrow(0, e > b ? b - lo : 0, end - begin)});
      }
      shards.push_back(shard);
      sharded.emplace_back(params, options);
    }
  }
  for (int64_t step = 0; step < steps; ++step) {
    std::vector<at::Tensor> grads;
    for (auto& p : whole) {
      grads.push_back(at::randn(p.tensor.sizes()) * (1.0 + step % 3));
      p.tensor.mutable_grad() = grads.back().clone();
    }
    const double lr = 0.01 * (1.0 + 0.01 * step);
    reference.step(lr);
    std::vector<at::Tensor> partial;
    auto pieces = [&](int64_t r) {
      std::vector<at::Tensor> out;
      for (size_t k = 0; k < grads.size(); ++k)
        out.push_back(grads[k].reshape({-1}).narrow(0, ranges[r][k].first, ranges[r][k].second - ranges[r][k].first));
      return out;
    };
    at::Tensor stats;
    for (int64_t r = 0; r < ranks; ++r) {
      at::Tensor s = sharded[r].begin_step(pieces(r), lr);
      stats = r == 0 ? s : stats + s;
    }
    at::Tensor squares;
    for (int64_t r = 0; r < ranks; ++r) {
      at::Tensor s = sharded[r].continue_step(stats);
      squares = r == 0 ? s : squares + s;
    }
    for (int64_t r = 0; r < ranks; ++r) sharded[r].finish_step(squares);
  }
  double worst = 0;
  for (size_t k = 0; k < whole.size(); ++k) {
    at::Tensor ref = whole[k].tensor.detach().reshape({-1});
    at::Tensor ours = at::zeros_like(ref);
    for (int64_t r = 0; r < ranks; ++r) {
      const auto [b, e] = ranges[r][k];
      if (e > b) ours.narrow(0, b, e - b).copy_(sharded[r].parameters()[k].value);
    }
    worst = std::max(worst, test::max_abs_diff(ours, ref) / ref.abs().max().item<double>());
  }
  // The factored statistics are whole on every rank and must equal the reference's.
  const auto ref_state = reference.state_dict();
  for (int64_t r = 0; r < ranks; ++r)
    for (const auto& e : sharded[r].state())
      if (!e.sharded) {
        const at::Tensor& ref = ref_state.at(e.key);
        worst = std::max(worst,
                         test::max_abs_diff(e.tensor, ref.reshape(e.tensor.sizes())) / ref.abs().max().item<double>());
      }
  return worst;
}

TEST(ShardedAdafactor, EqualsUnshardedOver100StepsWithUnevenRows) {
  AdafactorOptions hf;
  hf.relative_step = false;
  hf.beta1 = 0.9;
  hf.weight_decay = 0.01;
  for (int64_t ranks : {3, 4}) {
    const double err = run_and_compare(hf, ranks, 100);
    std::printf("HF rules, %lld ranks: max relative difference %.2e\n", static_cast<long long>(ranks), err);
    EXPECT_LE(err, 1e-5) << ranks << " ranks, HF rules";
  }
  AdafactorOptions t5x = AdafactorOptions::t5x();
  t5x.min_dim_size_to_factor = 2;  // so the small test matrices are factored, over their largest two dims
  t5x.relative_step = false;
  t5x.weight_decay = 1e-3;
  const double err = run_and_compare(t5x, 3, 100);
  std::printf("T5X rules, 3 ranks: max relative difference %.2e\n", err);
  EXPECT_LE(err, 1e-5) << "T5X rules";
}

TEST(ShardedAdafactor, RefusesTensorsOfRankThree) {
  ShardedParameter p{"w", {2, 3, 4}, 0, 24, at::zeros({24})};
  EXPECT_THROW(ShardedAdafactor({p}, AdafactorOptions{}), Error);
}

}  // namespace
}  // namespace symtune

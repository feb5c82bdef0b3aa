#include "eval/statistics.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "data/rng.h"

namespace symtune {
namespace {

double accuracy_of(const std::string& outcomes) {
  int64_t n = 0, correct = 0;
  for (char c : outcomes) {
    if (c == '-') continue;
    ++n;
    correct += c == '1';
  }
  return n == 0 ? 0.0 : double(correct) / double(n);
}

// The scored positions of a task's outcomes (both strings scored, when pairing).
std::vector<size_t> scored(const std::string& a, const std::string* b = nullptr) {
  std::vector<size_t> out;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != '-' && (b == nullptr || (i < b->size() && (*b)[i] != '-'))) out.push_back(i);
  return out;
}

// Which tasks one resample draws: each task once (stratified: the tasks are the population, as
// the held-out ICL tasks are), or, with more than kFixedTaskLimit tasks, T tasks drawn with
// replacement (two-stage: the tasks are a sample of a family, as 20 of the 250 list functions
// are, and a few queries each say little about their task).
constexpr size_t kFixedTaskLimit = 8;
std::vector<size_t> resampled_tasks(size_t tasks, Rng& rng) {
  std::vector<size_t> out(tasks);
  for (size_t t = 0; t < tasks; ++t) out[t] = tasks > kFixedTaskLimit ? static_cast<size_t>(rng.below(tasks)) : t;
  return out;
}

Interval percentile(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  auto at = [&](double q) { return values[static_cast<size_t>(q * double(values.size() - 1) + 0.5)]; };
  return {at(0.025), at(0.975)};
}

}  // namespace

Interval wilson_interval(int64_t correct, int64_t n, double z) {
  if (n <= 0) return {0.0, 1.0};
  const double p = double(correct) / double(n), z2 = z * z, nn = double(n);
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

MeanEstimate mean_with_interval(const std::vector<std::string>& outcomes, int resamples, uint64_t seed) {
  MeanEstimate m;
  if (outcomes.empty()) return m;
  for (const auto& o : outcomes) m.mean += accuracy_of(o);
  m.mean /= double(outcomes.size());
  Rng rng = Rng::for_stream(seed, 0x424F4F54);  // "BOOT"
  std::vector<std::vector<size_t>> positions;
  for (const auto& o : outcomes) positions.push_back(scored(o));
  std::vector<double> means;
  for (int r = 0; r < resamples; ++r) {
    double sum = 0;
    for (size_t t : resampled_tasks(outcomes.size(), rng)) {
      const auto& pos = positions[t];
      int64_t correct = 0;
      for (size_t k = 0; k < pos.size(); ++k) correct += outcomes[t][pos[rng.below(pos.size())]] == '1';
      sum += pos.empty() ? 0.0 : double(correct) / double(pos.size());
    }
    means.push_back(sum / double(outcomes.size()));
  }
  m.interval = percentile(std::move(means));
  return m;
}

double mcnemar_exact_p(int64_t only_a, int64_t only_b) {
  const int64_t n = only_a + only_b;
  if (n == 0) return 1.0;
  const int64_t k = std::min(only_a, only_b);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in logs: n can be in the thousands.
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(double(n + 1)) - std::lgamma(double(i + 1)) - std::lgamma(double(n - i + 1)) -
                     double(n) * std::log(2.0));
  return std::min(1.0, 2 * tail);
}

PairedDifference paired_difference(const std::vector<std::string>& a, const std::vector<std::string>& b, int resamples,
                                   uint64_t seed) {
  if (a.size() != b.size()) throw Error("paired comparison: the reports hold different numbers of tasks");
  PairedDifference d;
  std::vector<std::vector<size_t>> pairs;
  for (size_t t = 0; t < a.size(); ++t) {
    pairs.push_back(scored(a[t], &b[t]));
    int64_t right_a = 0, right_b = 0;
    for (size_t i : pairs.back()) {
      right_a += a[t][i] == '1';
      right_b += b[t][i] == '1';
      d.only_a += a[t][i] == '1' && b[t][i] == '0';
      d.only_b += a[t][i] == '0' && b[t][i] == '1';
    }
    d.pairs += static_cast<int64_t>(pairs.back().size());
    if (!pairs.back().empty()) d.difference += double(right_b - right_a) / double(pairs.back().size());
  }
  if (a.empty()) return d;
  d.difference /= double(a.size());
  d.mcnemar_p = mcnemar_exact_p(d.only_a, d.only_b);
  Rng rng = Rng::for_stream(seed, 0x50414952);  // "PAIR"
  std::vector<double> diffs;
  for (int r = 0; r < resamples; ++r) {
    double sum = 0;
    for (size_t t : resampled_tasks(a.size(), rng)) {
      const auto& pos = pairs[t];
      int64_t delta = 0;
      for (size_t k = 0; k < pos.size(); ++k) {
        const size_t i = pos[rng.below(pos.size())];
        delta += (b[t][i] == '1') - (a[t][i] == '1');
      }
      sum += pos.empty() ? 0.0 : double(delta) / double(pos.size());
    }
    diffs.push_back(sum / double(a.size()));
  }
  d.interval = percentile(std::move(diffs));
  return d;
}

}  // namespace symtune

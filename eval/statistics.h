// Intervals and paired comparisons for accuracies: at the sizes that fit on one machine (20-100
// queries a task), an effect of a few points is noise without them.
//   - a task's accuracy: Wilson's 95% score interval (Wilson 1927), sound at small n and near 0/1;
//   - a mean over tasks: a percentile bootstrap that resamples each task's queries (stratified);
//     with more than 8 tasks (list functions, Turing concepts: a sample of a family of tasks,
//     with a few queries each) the tasks are resampled too (two-stage), so an interval is not
//     narrowed to nothing by tasks whose two queries agree;
//   - two models on the same queries: the paired difference with a percentile bootstrap interval
//     over the pairs (stratified by task for means), and McNemar's exact test on the pairs
//     where they disagree (two-sided binomial, p = 0.5).
// Queries are outcomes per draw: '1' correct, '0' wrong, '-' not scored (the prompt did not fit);
// two reports pair the draws with the same index, which are the same prompt for the same seed.
// No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace symtune {

struct Interval {
  double low = 0, high = 0;
};

// 95% (z = 1.96) Wilson score interval of correct / n; [0, 1] when n = 0.
Interval wilson_interval(int64_t correct, int64_t n, double z = 1.959963984540054);

// The mean over tasks of each task's accuracy, and its bootstrap interval (queries resampled
// within each task). `outcomes` holds one string per task.
struct MeanEstimate {
  double mean = 0;
  Interval interval;
};
MeanEstimate mean_with_interval(const std::vector<std::string>& outcomes, int resamples = 2000, uint64_t seed = 0);

// b minus a on the draws both scored, per task (one pair of strings per task; a mean over
// tasks when several are given).
struct PairedDifference {
  double difference = 0;           // mean accuracy of b minus a, over tasks
  Interval interval;               // 95% percentile bootstrap
  int64_t pairs = 0;               // draws both scored
  int64_t only_a = 0, only_b = 0;  // discordant pairs: a right and b wrong, and the reverse
  double mcnemar_p = 1;            // exact two-sided, on the discordant pairs
};
PairedDifference paired_difference(const std::vector<std::string>& a, const std::vector<std::string>& b,
                                   int resamples = 2000, uint64_t seed = 0);

// Exact two-sided McNemar p-value for `only_a` and `only_b` discordant pairs.
double mcnemar_exact_p(int64_t only_a, int64_t only_b);

}  // namespace symtune

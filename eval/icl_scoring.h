// In-context classification by rank classification: the model scores every candidate label
// string after the prompt (sum of log-probabilities of its tokens and the closing EOS), and the
// prediction is the best-scoring candidate. The prompt is computed once for all candidates.
// Must not include trainer/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/datasets.h"
#include "data/prompts.h"
#include "data/tokenizer.h"

namespace symtune {

class Transformer;
class Progress;

// Log-likelihood of each candidate continuation of `prompt_ids` (token ids, BOS included):
// every candidate row runs prompt + candidate through one full forward. The reference for the
// fast path below, and for the benchmark (bench/eval_bench.sh).
std::vector<double> score_candidates(Transformer& model, const std::vector<int32_t>& prompt_ids,
                                     const std::vector<std::vector<int32_t>>& candidate_ids);

// The same log-likelihoods, computed as evaluation does: the prompt runs once, its keys and
// values cached; the candidates continue it as one batch, and logits are formed only where a
// candidate token is scored (the prompt's last position, and each candidate's own positions).
std::vector<double> score_candidates_sharing_the_prompt(Transformer& model, const std::vector<int32_t>& prompt_ids,
                                                        const std::vector<std::vector<int32_t>>& candidate_ids);

// One query of rank classification: its prompt and the continuations it is scored with.
struct ScoringQuery {
  std::vector<int32_t> prompt;
  std::vector<std::vector<int32_t>> candidates;
};

// The same log-likelihoods for several queries at once (scores[q][c]): the prompts run as one
// right-padded batch, each with its own positions, padding cached but never attended to; then
// every candidate of every query continues its prompt's cache, all in one batch.
std::vector<std::vector<double>> score_queries_sharing_prompts(Transformer& model,
                                                               const std::vector<ScoringQuery>& queries);

// Groups of query indices to score together: longest prompts first, a group growing while its
// cached tokens (prompt rows and candidate rows, padded to the group's longest) stay within
// `batch_tokens`. A query alone over the budget is a group of its own. With a longrope
// threshold (original_max_position_embeddings; 0 = none), a group also keeps to queries whose
// prompt forward and candidate forward take the same factors alone as in the group, so that
// batching never changes a score.
std::vector<std::vector<size_t>> scoring_batches(const std::vector<ScoringQuery>& queries, int64_t batch_tokens,
                                                 int64_t longrope_threshold = 0);

struct IclTaskResult {
  std::string task;
  int64_t examples = 0, correct = 0;
  int64_t skipped = 0;   // prompts that could not fit max_input_tokens with one exemplar per class
  std::string outcomes;  // per draw: '1' correct, '0' wrong, '-' skipped (eval/statistics.h)
  double accuracy() const { return examples ? double(correct) / examples : 0.0; }
};

// How many prompts a task draws and how they are scored.
struct IclScoringOptions {
  int64_t n = 100;    // prompts drawn
  uint64_t seed = 0;  // every draw is deterministic in it
  int64_t max_input_tokens = 1024;
  // Cached tokens per forward (scoring_batches): more queries per forward where memory allows.
  // A batch's key/value cache takes batch_tokens x layers x 2 x kv heads x head dim elements.
  int64_t batch_tokens = 8192;
  Progress* progress = nullptr;  // advanced by every prompt scored or skipped, when given
};

// `scoring.n` prompts of `dataset` (queries from its test split, k exemplars per class), labels
// shown as options.labels says (symbols from `symbols` for kSymbols). The outcomes are the same
// whatever the batching, up to rounding of the scores.
IclTaskResult evaluate_icl_task(Transformer& model, const Tokenizer& tokenizer, const ClassificationDataset& dataset,
                                const SymbolPool& symbols, IclOptions options, const IclScoringOptions& scoring);

}  // namespace symtune

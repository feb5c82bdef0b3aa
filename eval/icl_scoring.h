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

struct IclTaskResult {
  std::string task;
  int64_t examples = 0, correct = 0;
  int64_t skipped = 0;   // prompts that could not fit max_input_tokens with one exemplar per class
  std::string outcomes;  // per draw: '1' correct, '0' wrong, '-' skipped (eval/statistics.h)
  double accuracy() const { return examples ? double(correct) / examples : 0.0; }
};

// `n` prompts of `dataset` (queries from its test split, k exemplars per class), labels shown
// as options.labels says (symbols from `symbols` for kSymbols). Deterministic in `seed`.
IclTaskResult evaluate_icl_task(Transformer& model, const Tokenizer& tokenizer, const ClassificationDataset& dataset,
                                const SymbolPool& symbols, IclOptions options, int64_t n, uint64_t seed,
                                int64_t max_input_tokens);

}  // namespace symtune

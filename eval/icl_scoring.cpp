#include "eval/icl_scoring.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "common/error.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "data/batches.h"
#include "model/transformer.h"

namespace symtune {

std::vector<double> score_candidates(Transformer& model, const std::vector<int32_t>& prompt,
                                     const std::vector<std::vector<int32_t>>& candidates) {
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(candidates.size());
  int64_t longest = 0;
  for (const auto& c : candidates) longest = std::max<int64_t>(longest, static_cast<int64_t>(c.size()));
  const int64_t P = static_cast<int64_t>(prompt.size()), T = P + longest;
  // Rows: prompt + candidate, right-padded with the candidate's last token (never scored).
  std::vector<int64_t> ids(static_cast<size_t>(n * T));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t t = 0; t < T; ++t)
      ids[r * T + t] = t < P ? prompt[t] : candidates[r][std::min<int64_t>(t - P, candidates[r].size() - 1)];
  at::Tensor tokens = at::tensor(ids, at::kLong).view({n, T});
  at::Tensor logp = at::log_softmax(model.forward(tokens).to(at::kDouble), -1).to(at::kCPU);
  auto lp = logp.accessor<double, 3>();
  std::vector<double> scores(n, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (size_t j = 0; j < candidates[r].size(); ++j)  // position P-1+j predicts candidate token j
      scores[r] += lp[r][P - 1 + static_cast<int64_t>(j)][candidates[r][j]];
  return scores;
}

namespace {

int64_t longest_candidate(const ScoringQuery& q) {
  int64_t longest = 0;
  for (const auto& c : q.candidates) longest = std::max<int64_t>(longest, static_cast<int64_t>(c.size()));
  return longest;
}

// Adds to scores[q][c] the log-probability of every candidate token after the first: all
// candidates of all queries continue their prompt's cache as one batch (right-padded with each
// row's last token, never scored), and logits are formed only at the scored positions.
void score_later_tokens(Transformer& model, const std::vector<ScoringQuery>& queries, const KVCache& prompts, int64_t L,
                        std::vector<std::vector<double>>& scores) {
  const auto ids = at::TensorOptions().dtype(at::kLong);
  std::vector<int64_t> counts, next;
  std::vector<int64_t> scored_rows, scored_positions, scored_tokens;
  std::vector<std::pair<size_t, size_t>> owner;  // scored entry -> (query, candidate)
  int64_t row = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    counts.push_back(static_cast<int64_t>(queries[q].candidates.size()));
    for (size_t c = 0; c < queries[q].candidates.size(); ++c, ++row) {
      const auto& cand = queries[q].candidates[c];
      for (int64_t t = 0; t < L; ++t) next.push_back(cand.empty() ? 0 : cand[std::min<size_t>(t, cand.size() - 1)]);
      for (size_t j = 1; j < cand.size(); ++j) {  // token j is predicted by candidate token j - 1
        scored_rows.push_back(row);
        scored_positions.push_back(static_cast<int64_t>(j) - 1);
        scored_tokens.push_back(cand[j]);
        owner.emplace_back(q, c);
      }
    }
  }
  KVCache rows = prompts.repeat_rows(counts);
  const at::Tensor hidden_NLC = model.hidden_states_cached(at::tensor(next, ids).view({row, L}), rows);
  const at::Tensor picked = hidden_NLC.index({at::tensor(scored_rows, ids), at::tensor(scored_positions, ids)});
  const at::Tensor logp = at::log_softmax(model.logits(picked).to(at::kDouble), -1).to(at::kCPU);
  const auto lp = logp.accessor<double, 2>();
  for (size_t k = 0; k < owner.size(); ++k) scores[owner[k].first][owner[k].second] += lp[k][scored_tokens[k]];
}

}  // namespace

std::vector<std::vector<double>> score_queries_sharing_prompts(Transformer& model,
                                                               const std::vector<ScoringQuery>& queries) {
  at::NoGradGuard no_grad;
  const int64_t Q = static_cast<int64_t>(queries.size());
  std::vector<std::vector<double>> scores(queries.size());
  if (Q == 0) return scores;
  int64_t P = 0, longest = 0;
  std::vector<int64_t> lengths;
  for (const auto& q : queries) {
    if (q.prompt.empty()) throw Error("rank classification: an empty prompt");
    lengths.push_back(static_cast<int64_t>(q.prompt.size()));
    P = std::max(P, lengths.back());
    longest = std::max(longest, longest_candidate(q));
  }
  // The prompts once, right-padded with their last token (cached, never attended to); each
  // prompt's last real position predicts its candidates' first tokens.
  const auto ids = at::TensorOptions().dtype(at::kLong);
  std::vector<int64_t> tokens(static_cast<size_t>(Q * P)), last(static_cast<size_t>(Q));
  for (int64_t q = 0; q < Q; ++q) {
    const auto& prompt = queries[q].prompt;
    for (int64_t t = 0; t < P; ++t) tokens[q * P + t] = prompt[std::min<int64_t>(t, lengths[q] - 1)];
    last[q] = lengths[q] - 1;
  }
  KVCache cache = model.make_cache(Q, P + std::max<int64_t>(longest - 1, 0));
  const at::Tensor hidden_QPC = model.hidden_states_cached(at::tensor(tokens, ids).view({Q, P}), cache, lengths);
  const at::Tensor at_last = hidden_QPC.index({at::arange(Q, ids), at::tensor(last, ids)});
  const at::Tensor first_logp = at::log_softmax(model.logits(at_last).to(at::kDouble), -1).to(at::kCPU);
  const auto lp = first_logp.accessor<double, 2>();
  for (int64_t q = 0; q < Q; ++q)
    for (const auto& c : queries[q].candidates) scores[q].push_back(c.empty() ? 0.0 : lp[q][c[0]]);
  if (longest >= 2) score_later_tokens(model, queries, cache, longest - 1, scores);
  return scores;
}

std::vector<double> score_candidates_sharing_the_prompt(Transformer& model, const std::vector<int32_t>& prompt,
                                                        const std::vector<std::vector<int32_t>>& candidates) {
  return score_queries_sharing_prompts(model, {ScoringQuery{prompt, candidates}}).at(0);
}

std::vector<std::vector<size_t>> scoring_batches(const std::vector<ScoringQuery>& queries, int64_t batch_tokens,
                                                 int64_t longrope_threshold) {
  std::vector<size_t> order(queries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Longest prompts first, so that a batch pads little and its first query sets its width.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return queries[a].prompt.size() > queries[b].prompt.size(); });
  // longrope takes its long factors in a forward whose largest position + 1 exceeds the
  // threshold: the prompt forward's is the widest prompt, the candidate forward's that plus the
  // longest candidate less one. A query's class: which factors each forward takes for it alone.
  const int64_t t = longrope_threshold;
  auto long_prompt = [&](int64_t w) { return t > 0 && w > t; };
  auto long_candidates = [&](int64_t w, int64_t l) { return t > 0 && w + l - 1 > t; };
  std::vector<std::vector<size_t>> batches;
  int64_t width = 0, longest = 0, prompt_rows = 0, candidate_rows = 0;
  bool batch_long_prompt = false, batch_long_candidates = false;
  for (size_t i : order) {
    const ScoringQuery& q = queries[i];
    const int64_t p = static_cast<int64_t>(q.prompt.size()), c = longest_candidate(q);
    const int64_t w = std::max(width, p);
    const int64_t l = std::max(longest, c);
    const int64_t n = static_cast<int64_t>(q.candidates.size());
    const int64_t cost = (prompt_rows + 1) * w + (candidate_rows + n) * (w + l);
    const bool same_factors = long_prompt(p) == batch_long_prompt && long_candidates(p, c) == batch_long_candidates &&
                              long_candidates(w, l) == batch_long_candidates;
    if (batches.empty() || cost > batch_tokens || !same_factors) {
      batch_long_prompt = long_prompt(p);
      batch_long_candidates = long_candidates(p, c);
      batches.emplace_back();
      width = p;
      longest = c;
      prompt_rows = 1;
      candidate_rows = n;
    } else {
      width = w;
      longest = l;
      ++prompt_rows;
      candidate_rows += n;
    }
    batches.back().push_back(i);
  }
  return batches;
}

IclTaskResult evaluate_icl_task(Transformer& model, const Tokenizer& tokenizer, const ClassificationDataset& dataset,
                                const SymbolPool& symbols, IclOptions options, const IclScoringOptions& scoring) {
  options.query_from_test = true;
  IclTaskResult result;
  result.task = dataset.name;
  result.outcomes.assign(static_cast<size_t>(scoring.n), '-');
  std::vector<ScoringQuery> queries;
  std::vector<int64_t> draw, answer;  // per query: its draw and its label's index
  for (int64_t i = 0; i < scoring.n; ++i) {
    Rng rng = Rng::for_stream(scoring.seed, static_cast<uint64_t>(i), 0x4556414C);  // "EVAL"
    const TextExample ex = build_icl_prompt(dataset, symbols, options, rng);
    const TokenizedExample tok = tokenize_example(ex, tokenizer, scoring.max_input_tokens, 64);
    if (tok.unusable) {
      ++result.skipped;
      continue;
    }
    ScoringQuery q{tok.prompt, {}};
    for (const auto& label : ex.label_strings) {  // as targets are tokenized for training: " label" + EOS
      std::vector<int32_t> ids;
      for (int64_t id : tokenizer.encode(" " + label)) ids.push_back(static_cast<int32_t>(id));
      if (tokenizer.special().eos) ids.push_back(static_cast<int32_t>(*tokenizer.special().eos));
      q.candidates.push_back(std::move(ids));
    }
    queries.push_back(std::move(q));
    draw.push_back(i);
    answer.push_back(ex.query_label);
  }
  if (scoring.progress) scoring.progress->advance(result.skipped);
  const RopeConfig& rope = model.config().rope;
  const int64_t threshold = rope.type == "longrope" ? rope.original_max_position_embeddings : 0;
  for (const auto& batch : scoring_batches(queries, scoring.batch_tokens, threshold)) {
    throw_if_stop_requested("eval: " + dataset.name);
    std::vector<ScoringQuery> group;
    for (size_t i : batch) group.push_back(queries[i]);
    const auto scores = score_queries_sharing_prompts(model, group);
    for (size_t g = 0; g < batch.size(); ++g) {
      const size_t i = batch[g];
      const auto best = std::max_element(scores[g].begin(), scores[g].end()) - scores[g].begin();
      ++result.examples;
      result.correct += best == answer[i];
      result.outcomes[static_cast<size_t>(draw[i])] = best == answer[i] ? '1' : '0';
    }
    if (scoring.progress) scoring.progress->advance(static_cast<int64_t>(batch.size()));
  }
  return result;
}

}  // namespace symtune

#include "eval/icl_scoring.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

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

std::vector<double> score_candidates_sharing_the_prompt(Transformer& model, const std::vector<int32_t>& prompt,
                                                        const std::vector<std::vector<int32_t>>& candidates) {
  at::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(candidates.size()), P = static_cast<int64_t>(prompt.size());
  int64_t longest = 0;
  for (const auto& c : candidates) longest = std::max<int64_t>(longest, static_cast<int64_t>(c.size()));
  const auto ids = at::TensorOptions().dtype(at::kLong);
  // The prompt once; its last position predicts every candidate's first token.
  KVCache cache = model.make_cache(1, P + longest);
  std::vector<int64_t> prompt64(prompt.begin(), prompt.end());
  const at::Tensor prompt_hidden = model.hidden_states_cached(at::tensor(prompt64, ids).view({1, P}), cache);
  const at::Tensor first_logp = at::log_softmax(model.logits(prompt_hidden.select(1, P - 1)).to(at::kDouble), -1);
  std::vector<double> scores(n, 0.0);
  for (int64_t r = 0; r < n; ++r)
    if (!candidates[r].empty()) scores[r] = first_logp[0][candidates[r][0]].item<double>();
  if (longest < 2) return scores;
  // The candidates' other tokens: all rows continue the shared cache at once (right-padded with
  // each row's last token, never scored); logits only at the scored positions.
  KVCache rows = cache.repeated(n);
  const int64_t L = longest - 1;  // token j >= 1 is predicted by candidate token j - 1
  std::vector<int64_t> next(static_cast<size_t>(n * L));
  std::vector<int64_t> scored_rows, scored_positions, scored_tokens;
  for (int64_t r = 0; r < n; ++r) {
    const auto& c = candidates[r];
    for (int64_t t = 0; t < L; ++t) next[r * L + t] = c.empty() ? 0 : c[std::min<size_t>(t, c.size() - 1)];
    for (size_t j = 1; j < c.size(); ++j) {
      scored_rows.push_back(r);
      scored_positions.push_back(static_cast<int64_t>(j) - 1);
      scored_tokens.push_back(c[j]);
    }
  }
  const at::Tensor hidden_nLC = model.hidden_states_cached(at::tensor(next, ids).view({n, L}), rows);
  const at::Tensor picked = hidden_nLC.index({at::tensor(scored_rows, ids), at::tensor(scored_positions, ids)});
  const at::Tensor logp = at::log_softmax(model.logits(picked).to(at::kDouble), -1).to(at::kCPU);
  for (size_t k = 0; k < scored_rows.size(); ++k) scores[scored_rows[k]] += logp[k][scored_tokens[k]].item<double>();
  return scores;
}

IclTaskResult evaluate_icl_task(Transformer& model, const Tokenizer& tokenizer, const ClassificationDataset& dataset,
                                const SymbolPool& symbols, IclOptions options, int64_t n, uint64_t seed,
                                int64_t max_input_tokens) {
  options.query_from_test = true;
  IclTaskResult result;
  result.task = dataset.name;
  for (int64_t i = 0; i < n; ++i) {
    throw_if_stop_requested("eval: " + dataset.name);
    Rng rng = Rng::for_stream(seed, static_cast<uint64_t>(i), 0x4556414C);  // "EVAL"
    const TextExample ex = build_icl_prompt(dataset, symbols, options, rng);
    const TokenizedExample tok = tokenize_example(ex, tokenizer, max_input_tokens, 64);
    if (tok.unusable) {
      ++result.skipped;
      result.outcomes += '-';
      continue;
    }
    std::vector<std::vector<int32_t>> candidates;
    for (const auto& label : ex.label_strings) {  // as targets are tokenized for training: " label" + EOS
      std::vector<int32_t> ids;
      for (int64_t id : tokenizer.encode(" " + label)) ids.push_back(static_cast<int32_t>(id));
      if (tokenizer.special().eos) ids.push_back(static_cast<int32_t>(*tokenizer.special().eos));
      candidates.push_back(std::move(ids));
    }
    const auto scores = score_candidates_sharing_the_prompt(model, tok.prompt, candidates);
    const auto best = std::max_element(scores.begin(), scores.end()) - scores.begin();
    ++result.examples;
    result.correct += best == ex.query_label;
    result.outcomes += best == ex.query_label ? '1' : '0';
  }
  return result;
}

}  // namespace symtune

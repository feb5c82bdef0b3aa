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
  at::Tensor logp = at::log_softmax(model.forward(tokens).to(at::kFloat), -1).to(at::kCPU);
  auto lp = logp.accessor<float, 3>();
  std::vector<double> scores(n, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (size_t j = 0; j < candidates[r].size(); ++j)  // position P-1+j predicts candidate token j
      scores[r] += lp[r][P - 1 + static_cast<int64_t>(j)][candidates[r][j]];
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
    const auto scores = score_candidates(model, tok.prompt, candidates);
    const auto best = std::max_element(scores.begin(), scores.end()) - scores.begin();
    ++result.examples;
    result.correct += best == ex.query_label;
    result.outcomes += best == ex.query_label ? '1' : '0';
  }
  return result;
}

}  // namespace symtune

// Rank-classification scoring speed on real prompts: the full forward per candidate row (today's
// reference path, eval/icl_scoring.h score_candidates) against the shared-prompt path evaluation
// uses (score_candidates_sharing_the_prompt), one query per forward and several per forward
// (score_queries_sharing_prompts in groups of --batch-tokens), on the same prompts in the same
// run. Prints one
// JSON line and writes the prompts, candidates and symtune's scores as JSONL, so that
// bench/eval_hf.py can score them with HF transformers (bench/eval_bench.sh runs both).
//
//   bench_eval_scoring --model DIR --data CLASSIFICATION_DIR --task NAME [-n 20] [--k 4]
//                      [--max-input-tokens 512] [--batch-tokens 8192] [--threads N] --out prompts.jsonl
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "data/batches.h"
#include "data/datasets.h"
#include "data/prompts.h"
#include "data/tokenizer.h"
#include "eval/icl_scoring.h"
#include "model/hf_checkpoint.h"

using namespace symtune;

int main(int argc, char** argv) {
  std::string model_dir, data, task, out;
  int64_t n = 20, k = 4, max_input = 512, threads = 0, batch_tokens = 8192;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--model") model_dir = next();
    else if (a == "--data") data = next();
    else if (a == "--task") task = next();
    else if (a == "-n") n = std::stoll(next());
    else if (a == "--k") k = std::stoll(next());
    else if (a == "--max-input-tokens") max_input = std::stoll(next());
    else if (a == "--threads") threads = std::stoll(next());
    else if (a == "--batch-tokens") batch_tokens = std::stoll(next());
    else if (a == "--out") out = next();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    if (threads > 0) at::set_num_threads(static_cast<int>(threads));
    auto model = load_pretrained(model_dir);
    const ModelConfig& c = model->config();
    auto tok = load_tokenizer(model_dir, {c.bos_token_id, c.first_eos_token_id(), c.pad_token_id}, c.vocab_size);
    const ClassificationDataset d = load_classification_dataset(std::filesystem::path(data) / task);
    SymbolPoolConfig symbols;
    symbols.word_list = "";
    const SymbolPools pools = build_symbol_pools(symbols);
    IclOptions o;
    o.k_min = o.k_max = k;
    o.query_from_test = true;
    struct Prompt {
      std::vector<int32_t> ids;
      std::vector<std::vector<int32_t>> candidates;
    };
    std::vector<Prompt> prompts;
    for (uint64_t i = 0; static_cast<int64_t>(prompts.size()) < n && i < 10 * static_cast<uint64_t>(n); ++i) {
      Rng rng = Rng::for_stream(0, i, 0x4556414C);
      const TextExample ex = build_icl_prompt(d, pools.heldout, o, rng);
      const TokenizedExample t = tokenize_example(ex, *tok, max_input, 64);
      if (t.unusable) continue;
      Prompt p{t.prompt, {}};
      for (const auto& label : ex.label_strings) {
        std::vector<int32_t> ids;
        for (int64_t id : tok->encode(" " + label)) ids.push_back(static_cast<int32_t>(id));
        if (tok->special().eos) ids.push_back(static_cast<int32_t>(*tok->special().eos));
        p.candidates.push_back(ids);
      }
      prompts.push_back(std::move(p));
    }
    auto time = [&](auto score) {
      std::vector<std::vector<double>> scores;
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& p : prompts) scores.push_back(score(*model, p.ids, p.candidates));
      return std::make_pair(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), scores);
    };
    time(score_candidates_sharing_the_prompt);  // warm-up
    const auto [full_s, full] = time(score_candidates);
    const auto [shared_s, shared] = time(score_candidates_sharing_the_prompt);
    std::vector<ScoringQuery> queries;
    for (const auto& p : prompts) queries.push_back({p.ids, p.candidates});
    const auto t0 = std::chrono::steady_clock::now();
    const auto batches = scoring_batches(queries, batch_tokens);
    std::vector<std::vector<double>> batched(queries.size());
    for (const auto& batch : batches) {
      std::vector<ScoringQuery> group;
      for (size_t i : batch) group.push_back(queries[i]);
      const auto scores = score_queries_sharing_prompts(*model, group);
      for (size_t g = 0; g < batch.size(); ++g) batched[batch[g]] = scores[g];
    }
    const double batched_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double worst = 0, tokens = 0;
    std::ofstream file(out);
    for (size_t i = 0; i < prompts.size(); ++i) {
      for (size_t j = 0; j < full[i].size(); ++j)
        worst = std::max({worst, std::abs(full[i][j] - shared[i][j]), std::abs(full[i][j] - batched[i][j])});
      tokens += static_cast<double>(prompts[i].ids.size());
      file << nlohmann::json{{"prompt", prompts[i].ids}, {"candidates", prompts[i].candidates}, {"scores", shared[i]}}
                  .dump()
           << "\n";
    }
    std::printf(
        "{\"bench\":\"eval_scoring\",\"task\":\"%s\",\"classes\":%zu,\"prompts\":%zu,\"mean_prompt_tokens\":%.0f,"
        "\"full_forward_prompts_per_s\":%.3f,\"shared_prompt_prompts_per_s\":%.3f,\"speedup\":%.2f,"
        "\"batch_tokens\":%lld,\"batches\":%zu,\"batched_prompts_per_s\":%.3f,\"batched_speedup\":%.2f,"
        "\"max_abs_logp_difference\":%.3g}\n",
        task.c_str(), d.labels.size(), prompts.size(), tokens / std::max<size_t>(prompts.size(), 1),
        prompts.size() / full_s, prompts.size() / shared_s, full_s / shared_s, (long long)batch_tokens, batches.size(),
        prompts.size() / batched_s, full_s / batched_s, worst);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

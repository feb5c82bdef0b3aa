// Evaluation: the rank-classification scorer against log-probabilities computed by hand on a
// model whose logits are known, exact-match parsing of generated lists (malformed ones
// included), the concept generator, and deterministic reports.
#include <gtest/gtest.h>

#include "common/error.h"
#include "data/batches.h"
#include "data/datasets.h"
#include "data/prompts.h"
#include "data/tokenizer.h"
#include "eval/icl_scoring.h"
#include "eval/open_tasks.h"
#include "eval/report_tables.h"
#include "eval/statistics.h"
#include "eval/suites.h"
#include "model/llama2c_import.h"
#include "model/transformer.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;

// A model whose blocks are the identity (zero output projections) and whose logits are
// therefore lm_head . rmsnorm(embedding): computable by hand for any token.
std::unique_ptr<Transformer> known_logits_model(at::Tensor& embed, at::Tensor& head) {
  ModelConfig c = parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":4,
    "intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1,"rms_norm_eps":1e-6})",
                                     "test");
  TransformerWeights w = Transformer::random_weights(c, 1, at::kFloat);
  w.blocks[0].o_proj_CxHD.zero_();
  w.blocks[0].down_proj_CxF.zero_();
  at::manual_seed(4);
  embed = at::randn({8, 4});
  head = at::randn({8, 4}) * 2;
  w.embed_VxC = embed.clone();
  w.lm_head_VxC = head.clone();
  return std::make_unique<Transformer>(c, std::move(w));
}

TEST(IclScoring, ScoresAreTheSummedLogProbabilitiesOfEachCandidate) {
  at::Tensor embed, head;
  auto model = known_logits_model(embed, head);
  auto logp_next = [&](int64_t token) {  // log p(. | position holding `token`)
    at::Tensor x = embed[token];
    at::Tensor normed = x * at::rsqrt(x.pow(2).mean() + 1e-6);
    return at::log_softmax(at::matmul(head, normed), 0);
  };
  const std::vector<int32_t> prompt{1, 5, 3};
  const std::vector<std::vector<int32_t>> candidates{{2}, {4, 6}, {7, 7, 0}};
  const auto scores = score_candidates(*model, prompt, candidates);
  ASSERT_EQ(scores.size(), 3u);
  for (size_t c = 0; c < candidates.size(); ++c) {
    double expected = 0;
    int64_t previous = prompt.back();
    for (int32_t token : candidates[c]) {
      expected += logp_next(previous)[token].item<double>();
      previous = token;
    }
    EXPECT_NEAR(scores[c], expected, 1e-5) << "candidate " << c;
  }
  const auto shared = score_candidates_sharing_the_prompt(*model, prompt, candidates);
  for (size_t c = 0; c < candidates.size(); ++c) EXPECT_NEAR(shared[c], scores[c], 1e-6) << "candidate " << c;
}

// The fast path (the prompt once, candidates from its cache, logits where scored; and several
// queries per forward) gives the full forward's log-probabilities, on a real model and real prompts: stories260K on the
// first 20 prompts of every shared held-out dataset the evaluation uses (atis, also listed as held out in
// configs/data_shared.json, has four classes without a training example, so no prompt can show
// every class), in the symbol and natural-label settings.
TEST(IclScoring, SharingThePromptGivesTheFullForwardsLogProbabilities) {
  const fs::path stories = test::shared_data_dir() / "models" / "stories260K";
  const fs::path classification = test::shared_data_dir() / "classification";
  SYMTUNE_REQUIRE(fs::exists(stories / "stories260K.bin") && fs::exists(classification / "subj"),
                  "shared data: " << stories << " and " << classification);
  auto model = import_llama2c(stories / "stories260K.bin");
  auto tok = load_sentencepiece(stories / "tok512.model");
  SymbolPoolConfig symbols;
  symbols.word_list = "";
  const SymbolPools pools = build_symbol_pools(symbols);
  double worst = 0, worst_relative = 0;
  int64_t prompts = 0, batched = 0;
  auto compare = [&](const std::vector<double>& full, const std::vector<double>& fast) {
    ASSERT_EQ(full.size(), fast.size());
    for (size_t c = 0; c < full.size(); ++c) {
      worst = std::max(worst, std::abs(full[c] - fast[c]));
      worst_relative = std::max(worst_relative, std::abs(full[c] - fast[c]) / std::max(1.0, std::abs(full[c])));
    }
  };
  std::vector<ScoringQuery> queries;
  std::vector<std::vector<double>> references;
  for (const char* task : {"subj", "emotion", "hate_speech", "sms_spam"}) {
    const ClassificationDataset d = load_classification_dataset(classification / task);
    for (LabelMode mode : {LabelMode::kSymbols, LabelMode::kNatural}) {
      IclOptions o;
      o.k_min = o.k_max = 1;
      o.labels = mode;
      o.query_from_test = true;
      for (uint64_t i = 0; i < 20; ++i) {
        Rng rng = Rng::for_stream(0, i, 0x4556414C);
        const TextExample ex = build_icl_prompt(d, pools.heldout, o, rng);
        const TokenizedExample t = tokenize_example(ex, *tok, 480, 64);
        if (t.unusable) continue;
        std::vector<std::vector<int32_t>> candidates;
        for (const auto& label : ex.label_strings) {
          std::vector<int32_t> ids;
          for (int64_t id : tok->encode(" " + label)) ids.push_back(static_cast<int32_t>(id));
          ids.push_back(2);  // EOS
          candidates.push_back(ids);
        }
        const auto full = score_candidates(*model, t.prompt, candidates);
        compare(full, score_candidates_sharing_the_prompt(*model, t.prompt, candidates));
        queries.push_back({t.prompt, candidates});
        references.push_back(full);
        ++prompts;
      }
      // The same prompts scored several at a time: batches of ragged prompts (a budget that
      // groups a few queries, and one that takes all 20 at once).
      for (int64_t budget : {6000, 1 << 20}) {
        const auto batches = scoring_batches(queries, budget);
        if (budget > 100000) EXPECT_EQ(batches.size(), 1u);
        for (const auto& batch : batches) {
          std::vector<ScoringQuery> group;
          for (size_t i : batch) group.push_back(queries[i]);
          const auto scores = score_queries_sharing_prompts(*model, group);
          for (size_t g = 0; g < batch.size(); ++g) compare(references[batch[g]], scores[g]);
          batched += static_cast<int64_t>(batch.size()) * (batch.size() > 1);
        }
      }
      queries.clear();
      references.clear();
    }
  }
  std::printf(
      "%lld prompts (%lld scored in batches of several): worst |log p (shared prompt) - log p (full "
      "forward)| = %.3g, relative %.3g\n",
      (long long)prompts, (long long)batched, worst, worst_relative);
  EXPECT_GE(prompts, 120);
  EXPECT_GE(2 * batched, 3 * prompts);  // every prompt in the one-batch pass, most in the other
  // fp32 rounding only: the two paths sum attention and matmuls in other orders, which moves a
  // log-probability by a few ulps of its size (|log p| reaches 40 here, where an fp32 ulp is
  // 4e-6): 1e-5 relative to max(1, |log p|), 6.7e-7 measured.
  EXPECT_LE(worst_relative, 1e-5);
}

// A model over the byte tokenizer whose next-token distribution is the same at every position
// (every embedding is one vector), strongly favouring the bytes of " yes" and EOS. Rank
// classification with it always answers "yes" when "yes" and "no" are the candidates, so the
// accuracy of a task is known by hand from its queries' labels alone.
std::unique_ptr<Transformer> always_yes_model() {
  ModelConfig c = parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":259,"hidden_size":4,
    "intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1,"bos_token_id":1,"eos_token_id":2})",
                                     "test");
  TransformerWeights w = Transformer::random_weights(c, 1, at::kFloat);
  w.blocks[0].o_proj_CxHD.zero_();  // blocks add nothing: hidden = the (shared) embedding
  w.blocks[0].down_proj_CxF.zero_();
  w.embed_VxC = at::zeros({259, 4});
  w.embed_VxC.select(1, 0).fill_(1.0);
  w.lm_head_VxC = at::zeros({259, 4});
  for (int64_t favoured : {int64_t(' ') + 3, int64_t('y') + 3, int64_t('e') + 3, int64_t('s') + 3, int64_t(2)})
    w.lm_head_VxC[favoured][0] = 10.0;
  return std::make_unique<Transformer>(c, std::move(w));
}

// `yes_queries` test examples labelled "yes" and `no_queries` labelled "no"; 4 training
// examples of each label for the exemplars.
ClassificationDataset yes_no_dataset(int yes_queries, int no_queries) {
  ClassificationDataset d;
  d.name = "yes_no";
  d.labels = {"no", "yes"};
  for (int i = 0; i < 8; ++i) d.train.push_back({"train text " + std::to_string(i), "", i % 2});
  for (int i = 0; i < yes_queries + no_queries; ++i)
    d.test.push_back({"query " + std::to_string(i), "", i < yes_queries ? 1 : 0});
  d.train_by_label = d.indices_by_label(d.train);
  return d;
}

// Batches: longest prompts first, within the token budget; with a longrope threshold of 10,
// never mixing queries whose forwards take different factors alone (a prompt of 12: long
// prompt; 9 with a 3-token candidate: short prompt, long candidates at 9 + 3 - 1 = 11; 8 and 7
// with 2-token candidates: short both, also together: 8 + 2 - 1 = 9).
TEST(IclScoring, BatchesKeepToTheBudgetAndToOneSetOfRopeFactors) {
  auto query = [](size_t prompt, size_t candidate) {
    return ScoringQuery{std::vector<int32_t>(prompt, 5), {std::vector<int32_t>(candidate, 6), {7}}};
  };
  const std::vector<ScoringQuery> queries{query(8, 2), query(12, 2), query(7, 2), query(9, 3)};
  using B = std::vector<std::vector<size_t>>;
  EXPECT_EQ(scoring_batches(queries, 1000), (B{{1, 3, 0, 2}}));
  EXPECT_EQ(scoring_batches(queries, 1000, 10), (B{{1}, {3}, {0, 2}}));
  // 12 + 2 x (12 + 2) = 40 tokens for the first alone; with the 9-token prompt, 2 x 12 + 4 x 15 = 84.
  EXPECT_EQ(scoring_batches(queries, 83), (B{{1}, {3, 0}, {2}}));
  EXPECT_EQ(scoring_batches(queries, 1), (B{{1}, {3}, {0}, {2}}));  // each alone when none fits
}

TEST(IclScoring, AccuracyCountsTheQueriesWhoseBestCandidateIsTheirLabel) {
  auto model = always_yes_model();
  auto tok = make_byte_tokenizer();
  IclOptions natural;
  natural.k_min = natural.k_max = 2;
  natural.labels = LabelMode::kNatural;
  IclOptions flipped = natural;
  flipped.labels = LabelMode::kFlipped;  // the query's target is the other label's name
  struct Case {
    int yes, no;
    IclOptions options;
    int64_t correct;  // by hand: the model answers "yes" to every query
  };
  for (const Case& c :
       {Case{3, 0, natural, 12}, Case{0, 3, natural, 0}, Case{3, 0, flipped, 0}, Case{0, 3, flipped, 12}}) {
    const IclTaskResult r = evaluate_icl_task(*model, *tok, yes_no_dataset(c.yes, c.no), {}, c.options, {12, 5, 400});
    EXPECT_EQ(r.examples, 12);
    EXPECT_EQ(r.correct, c.correct) << c.yes << " yes / " << c.no << " no queries, "
                                    << (c.options.labels == LabelMode::kFlipped ? "flipped" : "natural");
    EXPECT_DOUBLE_EQ(r.accuracy(), c.correct / 12.0);
  }
  // A prompt whose query alone exceeds the budget is not scored, and not counted.
  const IclTaskResult none = evaluate_icl_task(*model, *tok, yes_no_dataset(3, 0), {}, natural, {5, 5, 8});
  EXPECT_EQ(none.examples, 0);
  EXPECT_EQ(none.correct, 0);
  EXPECT_EQ(none.skipped, 5);
}

// Intervals and tests against numbers worked out by hand.
TEST(Statistics, WilsonIntervalsMatchHandComputedValues) {
  // 8 of 10: p = 0.8, z = 1.96: centre (0.8 + 0.192) / 1.384 = 0.7168, half-width
  // 1.96 sqrt(0.016 + 0.0096) / 1.384 = 0.2266.
  const Interval a = wilson_interval(8, 10);
  EXPECT_NEAR(a.low, 0.4902, 5e-4);
  EXPECT_NEAR(a.high, 0.9433, 5e-4);
  const Interval b = wilson_interval(50, 100);
  EXPECT_NEAR(b.low, 0.4038, 5e-4);
  EXPECT_NEAR(b.high, 0.5962, 5e-4);
  const Interval c = wilson_interval(0, 10);  // z^2 / (n + z^2) = 3.8415 / 13.8415
  EXPECT_EQ(c.low, 0.0);
  EXPECT_NEAR(c.high, 0.2775, 5e-4);
  const Interval none = wilson_interval(0, 0);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_EQ(none.high, 1.0);
}

TEST(Statistics, McNemarOnAHandMadeTable) {
  // 1 pair where a alone is right, 9 where b alone is: P(X <= 1 | n = 10, 1/2) = 11 / 1024.
  EXPECT_NEAR(mcnemar_exact_p(1, 9), 2.0 * 11 / 1024, 1e-12);
  EXPECT_NEAR(mcnemar_exact_p(9, 1), 2.0 * 11 / 1024, 1e-12);
  EXPECT_EQ(mcnemar_exact_p(5, 5), 1.0);
  EXPECT_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_NEAR(mcnemar_exact_p(0, 6), 2.0 / 64, 1e-12);
  // Pairs: draws both scored ('-' = not scored); the difference is b's accuracy minus a's.
  const PairedDifference d = paired_difference({"1100-0", "10"}, {"11110-", "01"});
  EXPECT_EQ(d.pairs, 6);  // 4 in the first task (index 4 and 5 unpaired), 2 in the second
  EXPECT_EQ(d.only_b, 3);
  EXPECT_EQ(d.only_a, 1);
  EXPECT_NEAR(d.difference, (0.5 + 0.0) / 2, 1e-12);
  EXPECT_NEAR(d.mcnemar_p, mcnemar_exact_p(1, 3), 1e-12);
  EXPECT_LE(d.interval.low, d.difference);
  EXPECT_GE(d.interval.high, d.difference);
  const PairedDifference same = paired_difference({"1010"}, {"1010"});
  EXPECT_EQ(same.difference, 0.0);
  EXPECT_EQ(same.interval.low, 0.0);
  EXPECT_EQ(same.interval.high, 0.0);
}

TEST(Statistics, BootstrapIntervalOfAMeanHasTheBinomialWidth) {
  // 50 of 100 right: the standard error is 0.05, so the 95% interval is about [0.40, 0.60].
  std::string half;
  for (int i = 0; i < 100; ++i) half += i % 2 ? '1' : '0';
  const MeanEstimate m = mean_with_interval({half});
  EXPECT_DOUBLE_EQ(m.mean, 0.5);
  EXPECT_NEAR(m.interval.low, 0.40, 0.02);
  EXPECT_NEAR(m.interval.high, 0.60, 0.02);
  // Two tasks: the mean of their accuracies; a task right everywhere has no spread.
  const MeanEstimate two = mean_with_interval({"1111", "1100--"});
  EXPECT_DOUBLE_EQ(two.mean, 0.75);
  const MeanEstimate sure = mean_with_interval({"1111"});
  EXPECT_EQ(sure.interval.low, 1.0);
  EXPECT_EQ(sure.interval.high, 1.0);
  // 20 tasks of two queries, each task all right or all wrong (10 each): within a task nothing
  // varies, so only resampling the tasks gives the spread of a mean over 20 tasks, about
  // 0.5 +- 1.96 x sqrt(0.25 / 20) = [0.28, 0.72].
  std::vector<std::string> tasks;
  for (int t = 0; t < 20; ++t) tasks.push_back(t % 2 ? "11" : "00");
  const MeanEstimate sampled = mean_with_interval(tasks);
  EXPECT_DOUBLE_EQ(sampled.mean, 0.5);
  EXPECT_NEAR(sampled.interval.low, 0.28, 0.05);
  EXPECT_NEAR(sampled.interval.high, 0.72, 0.05);
}

TEST(OpenTasks, ListParsingAcceptsWellFormedListsOnly) {
  EXPECT_EQ(parse_int_list(" [4, 5]\nInput: [1]"), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(parse_int_list("[]"), std::vector<int64_t>{});
  EXPECT_EQ(parse_int_list("[-3,10 , 0]"), (std::vector<int64_t>{-3, 10, 0}));
  EXPECT_EQ(parse_int_list("[4, x]"), std::nullopt);
  EXPECT_EQ(parse_int_list("[4, 5"), std::nullopt);
  EXPECT_EQ(parse_int_list("4, 5"), std::nullopt);
  EXPECT_EQ(parse_int_list("[4,, 5]"), std::nullopt);
  EXPECT_EQ(parse_int_list("[-]"), std::nullopt);
  EXPECT_EQ(render_int_list({1, 22, 3}), "[1, 22, 3]");
  EXPECT_EQ(first_word("  0110\nInput"), "0110");
  EXPECT_EQ(first_word("\n"), "");
}

TEST(OpenTasks, TuringConceptsComputeTheirProgramsDeterministically) {
  const OpenTask reverse = make_turing_concept_task("reverse", 20, 3);
  EXPECT_EQ(reverse.examples.size(), 20u);
  for (const auto& [in, out] : reverse.examples) EXPECT_EQ(out, std::string(in.rbegin(), in.rend()));
  const OpenTask xors = make_turing_concept_task("xor_neighbours", 5, 3);
  EXPECT_EQ(xors.examples.size(), 5u);
  for (const auto& [in, out] : xors.examples) {
    ASSERT_EQ(out.size(), in.size() - 1);
    for (size_t i = 0; i + 1 < in.size(); ++i) EXPECT_EQ(out[i], in[i] == in[i + 1] ? '0' : '1') << in;
  }
  EXPECT_EQ(make_turing_concept_task("sort", 8, 9).examples, make_turing_concept_task("sort", 8, 9).examples);
  EXPECT_NE(make_turing_concept_task("sort", 8, 9).examples, make_turing_concept_task("sort", 8, 10).examples);
  EXPECT_GE(turing_concept_names().size(), 16u);
  EXPECT_THROW(make_turing_concept_task("halting", 3, 0), Error);
}

TEST(EvalSuites, TheSameModelGivesTheSameReport) {
  ModelConfig c = parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":259,"hidden_size":32,
    "intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
    "bos_token_id":1,"eos_token_id":2})",
                                     "test");
  Transformer model(c, Transformer::random_weights(c, 5, at::kFloat));
  auto tok = make_byte_tokenizer();
  EvalOptions o;
  o.classification_dir = "builtin:synthetic";
  o.tasks = {"sign", "count"};
  o.examples_per_task = 8;
  o.symbols.word_list = "";
  o.max_input_tokens = 400;
  for (const char* suite : {"icl", "flipped", "turing_concepts"}) {
    const auto a = run_eval_suite(suite, model, *tok, o);
    const auto b = run_eval_suite(suite, model, *tok, o);
    EXPECT_EQ(a.dump(), b.dump()) << suite;
    ASSERT_FALSE(a["settings"].empty()) << suite;
    for (const auto& setting : a["settings"]) {
      double sum = 0;
      for (const auto& t : setting["tasks"]) {
        EXPECT_EQ(t["n"], 8) << suite;  // every query of the 8 asked for is scored
        EXPECT_EQ(t["outcomes"].get<std::string>().size(), 8u) << suite;
        const double accuracy = t["accuracy"].get<double>();
        EXPECT_LE(t["interval"][0].get<double>(), accuracy);
        EXPECT_GE(t["interval"][1].get<double>(), accuracy);
        EXPECT_DOUBLE_EQ(t["accuracy"].get<double>(), t["correct"].get<double>() / 8) << suite;
        sum += t["accuracy"].get<double>();
      }
      EXPECT_DOUBLE_EQ(setting["mean"].get<double>(), sum / static_cast<double>(setting["tasks"].size())) << suite;
    }
  }
  const auto icl = run_eval_suite("icl", model, *tok, o);
  EXPECT_EQ(icl["settings"].size(), 4u);  // {instruction or not} x {natural labels, symbols}
  EXPECT_EQ(icl["settings"]["symbols"]["tasks"]["sign"]["n"], 8);
  o.seed = 1;
  EXPECT_NE(run_eval_suite("icl", model, *tok, o).dump(), icl.dump()) << "the seed matters";
  nlohmann::json report = {{"suites", {{"icl", icl}}}};
  const std::string md = compare_reports_markdown({report, report}, {"before", "after"});
  EXPECT_NE(md.find("| icl | symbols | sign |"), std::string::npos) << md;
  EXPECT_NE(md.find("| before | after |"), std::string::npos) << md;
}

}  // namespace
}  // namespace symtune

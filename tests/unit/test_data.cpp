// The symbol-tuning data pipeline: prompts, symbol pools, mixture, tokenization to the
// paper's shapes, packing, resumable and rank-independent batches, and bad input.
#include <gtest/gtest.h>

#include <map>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/file_io.h"
#include "data/batch_prefetcher.h"
#include "data/batches.h"
#include "data/datasets.h"
#include "data/mixture.h"
#include "data/pretokenizer.h"
#include "data/prompts.h"
#include "data/symbols.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// One token per byte (ids 3..258), BOS 1, EOS 2, pad 0: token counts are byte counts, so
// length limits can be checked exactly.
class ByteTokenizer : public Tokenizer {
 public:
  ByteTokenizer() { special_ = {1, 2, 0}; }
  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int64_t> ids;
    for (unsigned char ch : text) ids.push_back(ch + 3);
    return ids;
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string s;
    for (int64_t id : ids)
      if (id >= 3) s += static_cast<char>(id - 3);
    return s;
  }
  int64_t vocab_size() const override { return 259; }
};

// Writes a classification dataset: `per_label` examples of each label, texts "<label> <i>".
void write_dataset(const fs::path& dir, const std::string& name, const std::vector<std::string>& labels, int per_label,
                   bool pair = false, int text_repeat = 1) {
  fs::create_directories(dir / name);
  json meta = {{"name", name}, {"task", "test"}, {"labels", labels}};
  meta["fields"] = pair ? json{"text", "text2"} : json{"text"};
  meta["field_names"] = pair ? json{{"text", "premise"}, {"text2", "hypothesis"}} : json{{"text", "sentence"}};
  write_text_file_atomically(dir / name / "dataset.json", meta.dump());
  std::string lines;
  for (int i = 0; i < per_label; ++i)
    for (const auto& l : labels) {
      std::string text;
      for (int r = 0; r < text_repeat; ++r) text += "example " + std::to_string(i) + " of " + l + ". ";
      json row = {{"text", text}, {"label", l}};
      if (pair) row["text2"] = "second part " + std::to_string(i);
      lines += row.dump() + "\n";
    }
  write_text_file_atomically(dir / name / "train.jsonl", lines);
  write_text_file_atomically(dir / name / "test.jsonl", lines);
}

void write_instructions(const fs::path& path, int n) {
  std::string lines;
  for (int i = 0; i < n; ++i)
    lines +=
        json{{"input", "Instruction number " + std::to_string(i)}, {"target", "Answer " + std::to_string(i)}}.dump() +
        "\n";
  write_text_file_atomically(path, lines);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

SymbolPools small_pools() {
  SymbolPoolConfig c;
  c.word_list = "";  // generated words: independent of the machine's word list
  c.tuning_words = 500;
  c.heldout_words = 500;
  return build_symbol_pools(c);
}

// Which label string each exemplar ends with.
std::map<std::string, int> exemplar_label_counts(const TextExample& ex) {
  std::map<std::string, int> counts;
  for (const auto& e : ex.exemplars) {
    int matches = 0;
    for (const auto& l : ex.label_strings)
      if (e.size() > l.size() && e.compare(e.size() - l.size() - 1, l.size() + 1, " " + l) == 0) {
        ++counts[l];
        ++matches;
      }
    EXPECT_EQ(matches, 1) << "exemplar must end with exactly one label string: " << e;
  }
  return counts;
}

class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_dataset(dir.path(), "three", {"alpha", "beta", "gamma"}, 30);
    write_dataset(dir.path(), "pairs", {"yes", "no"}, 40, /*pair=*/true);
    write_instructions(dir / "inst.jsonl", 50);
  }
  DataConfig config() const {
    DataConfig c;
    c.classification_dir = dir.path().string();
    c.instruction_files = {(dir / "inst.jsonl").string()};
    c.symbols.word_list = "";
    c.symbols.tuning_words = 500;
    c.symbols.heldout_words = 500;
    c.max_input_tokens = 2048;
    c.max_target_tokens = 512;
    c.rows_per_batch = 6;
    return c;
  }
  test::ScratchDir dir;
};

TEST_F(DataTest, SymbolPromptsMapEachLabelToOneSymbolUsedConsistently) {
  auto d = load_classification_dataset(dir / "three");
  const SymbolPools pools = small_pools();
  const std::vector<std::string> all_tuning = pools.tuning.all();
  const std::set<std::string> tuning(all_tuning.begin(), all_tuning.end());
  IclOptions o;
  std::set<std::vector<std::string>> mappings;
  for (uint64_t i = 0; i < 200; ++i) {
    Rng rng = Rng::for_stream(1, i);
    TextExample ex = build_icl_prompt(d, pools.tuning, o, rng);
    ASSERT_EQ(ex.label_strings.size(), 3u);
    EXPECT_EQ(std::set<std::string>(ex.label_strings.begin(), ex.label_strings.end()).size(), 3u) << "one-to-one";
    for (const auto& s : ex.label_strings) EXPECT_TRUE(tuning.count(s)) << s;
    auto counts = exemplar_label_counts(ex);
    ASSERT_EQ(counts.size(), 3u);
    const int k = counts.begin()->second;
    EXPECT_GE(k, 2);
    EXPECT_LE(k, 10);
    for (const auto& [label, n] : counts) EXPECT_EQ(n, k) << "same k for every class";
    EXPECT_EQ(ex.target, " " + ex.label_strings[ex.query_label]);
    // Each exemplar ("example i of <label>. ...") ends with its own label's symbol, and the query
    // is an example of the query's label: one mapping, used throughout the prompt.
    for (const auto& e : ex.exemplars)
      for (size_t label = 0; label < d.labels.size(); ++label)
        if (e.find(" of " + d.labels[label] + ".") != std::string::npos) {
          const std::string shown = " " + ex.label_strings[label];
          EXPECT_TRUE(e.size() > shown.size() && e.compare(e.size() - shown.size(), shown.size(), shown) == 0)
              << "exemplar of " << d.labels[label] << " shows another symbol: " << e;
        }
    EXPECT_NE(ex.query.find(" of " + d.labels[ex.query_label] + "."), std::string::npos) << ex.query;
    // The natural label names never appear: no instruction, no leaked labels.
    const std::string text = ex.input();
    EXPECT_EQ(ex.prefix, "");
    EXPECT_EQ(text.find("Classify"), std::string::npos);
    for (const auto& exemplar : ex.exemplars)
      for (const auto& name : d.labels)
        EXPECT_FALSE(exemplar.size() >= name.size() && exemplar.substr(exemplar.size() - name.size()) == name);
    mappings.insert(ex.label_strings);
  }
  EXPECT_GT(mappings.size(), 190u) << "symbols are drawn afresh for each prompt";
}

TEST_F(DataTest, KPerClassStaysWithinBoundsAndLayoutsVary) {
  auto d = load_classification_dataset(dir / "pairs");
  IclOptions o;
  o.k_min = 3;
  o.k_max = 5;
  std::set<int32_t> layouts, ks;
  for (uint64_t i = 0; i < 300; ++i) {
    Rng rng = Rng::for_stream(2, i);
    TextExample ex = build_icl_prompt(d, small_pools().tuning, o, rng);
    auto counts = exemplar_label_counts(ex);
    for (const auto& [label, n] : counts) {
      EXPECT_GE(n, 3);
      EXPECT_LE(n, 5);
      ks.insert(n);
    }
    layouts.insert(ex.layout);
  }
  EXPECT_EQ(ks, (std::set<int32_t>{3, 4, 5}));
  EXPECT_EQ(static_cast<int32_t>(layouts.size()), num_prompt_layouts());
  EXPECT_GE(num_prompt_layouts(), 8);
}

TEST_F(DataTest, FlippedLabelsAreReallyFlippedAndNaturalAndInstructionVariantsWork) {
  auto d = load_classification_dataset(dir / "three");
  IclOptions o;
  o.labels = LabelMode::kFlipped;
  for (uint64_t i = 0; i < 100; ++i) {
    Rng rng = Rng::for_stream(3, i);
    TextExample ex = build_icl_prompt(d, {}, o, rng);
    EXPECT_EQ(ex.kind, "flipped");
    EXPECT_EQ(std::set<std::string>(ex.label_strings.begin(), ex.label_strings.end()),
              std::set<std::string>(d.labels.begin(), d.labels.end()));
    for (size_t l = 0; l < d.labels.size(); ++l)
      EXPECT_NE(ex.label_strings[l], d.labels[l]) << "label " << l << " kept";
    EXPECT_EQ(ex.target, " " + ex.label_strings[ex.query_label]);
    // An exemplar of true class alpha is shown with some other label.
    for (const auto& e : ex.exemplars)
      if (e.find(" of alpha.") != std::string::npos) {
        const std::string shown = " " + ex.label_strings[0];
        EXPECT_EQ(e.substr(e.size() - shown.size()), shown);
      }
  }
  o.labels = LabelMode::kNatural;
  o.with_instruction = true;
  Rng rng = Rng::for_stream(4, 0);
  TextExample ex = build_icl_prompt(d, {}, o, rng);
  EXPECT_EQ(ex.label_strings, d.labels);
  EXPECT_NE(ex.prefix.find("alpha, beta, gamma"), std::string::npos);
}

// A share of the exemplars flipped: exactly round(share x exemplars) show the permuted name of
// their class, the rest their own; the target is permuted unless nothing was flipped.
TEST_F(DataTest, PartialFlipsShowTheShareOfPermutedLabelsAndScoreThePermutedTarget) {
  auto d = load_classification_dataset(dir / "three");
  const std::vector<std::string> names{"alpha", "beta", "gamma"};
  for (double share : {0.0, 0.5, 1.0}) {
    IclOptions o;
    o.labels = LabelMode::kFlipped;
    o.flip_fraction = share;
    for (uint64_t i = 0; i < 50; ++i) {
      Rng rng = Rng::for_stream(9, i);
      const TextExample ex = build_icl_prompt(d, {}, o, rng);
      size_t flipped = 0;
      for (size_t e = 0; e < ex.exemplars.size(); ++e) {
        const std::string& text = ex.exemplars[e];
        const auto label = static_cast<size_t>(ex.exemplar_labels[e]);
        ASSERT_NE(text.find(" of " + names[label] + "."), std::string::npos) << text;
        const std::string own = " " + d.labels[label], permuted = " " + ex.label_strings[label];
        const bool shows_own = text.size() >= own.size() && text.substr(text.size() - own.size()) == own;
        if (!shows_own) {
          ASSERT_EQ(text.substr(text.size() - permuted.size()), permuted) << text;
          ++flipped;
        }
      }
      EXPECT_EQ(flipped, static_cast<size_t>(std::llround(share * static_cast<double>(ex.exemplars.size()))))
          << "share " << share << ", " << ex.exemplars.size() << " exemplars";
      if (share == 0.0) EXPECT_EQ(ex.label_strings, d.labels);
      else EXPECT_NE(ex.label_strings[ex.query_label], d.labels[ex.query_label]);
      EXPECT_EQ(ex.target, " " + ex.label_strings[ex.query_label]);
    }
  }
}

TEST(SymbolPools, TuningAndHeldOutAreDisjointAndFollowThePaper) {
  SymbolPoolConfig c;  // the machine's word list when installed, generated words otherwise
  const SymbolPools pools = build_symbol_pools(c);
  // Three categories in each pool, as the authors' generator builds them.
  EXPECT_EQ(pools.tuning.integers.size(), 10000u);
  EXPECT_EQ(pools.tuning.letter_strings.size(), 10000u);
  EXPECT_EQ(pools.tuning.words.size(), 10000u);
  EXPECT_EQ(pools.heldout.integers.size(), 90000u);
  EXPECT_EQ(pools.heldout.letter_strings.size(), 90000u);
  EXPECT_GT(pools.heldout.words.size(), 1000u);
  const std::vector<std::string> all_tuning = pools.tuning.all(), all_heldout = pools.heldout.all();
  const std::set<std::string> tuning(all_tuning.begin(), all_tuning.end());
  EXPECT_EQ(tuning.size(), all_tuning.size()) << "no duplicates";
  for (const auto& s : all_heldout) ASSERT_FALSE(tuning.count(s)) << s << " is in both pools";
  EXPECT_TRUE(tuning.count("0") && tuning.count("9999") && tuning.count("A") && tuning.count("NTP"));
  EXPECT_EQ(spreadsheet_column_name(25), "Z");
  EXPECT_EQ(spreadsheet_column_name(26), "AA");
  EXPECT_EQ(spreadsheet_column_name(9999), "NTP");
  const std::set<std::string> heldout(all_heldout.begin(), all_heldout.end());
  EXPECT_TRUE(heldout.count("10000") && heldout.count("99999"));
  EXPECT_FALSE(heldout.count("100000"));
  // The letter strings of 10,001..100,000: NTQ .. the 100,000th column name, never a tuning one.
  EXPECT_EQ(pools.heldout.letter_strings.front(), "NTQ");
  EXPECT_EQ(pools.heldout.letter_strings.back(), spreadsheet_column_name(99999));
  EXPECT_TRUE(heldout.count("NTQ") && !tuning.count("NTQ"));
  // Deterministic in the seed; another seed picks other tuning words.
  EXPECT_EQ(build_symbol_pools(c).tuning.all(), all_tuning);
  c.seed = 1;
  EXPECT_NE(build_symbol_pools(c).tuning.words, pools.tuning.words);
}

// A category first, with equal probability, then a member: each category a third of the draws
// (30,000 draws: one standard deviation is 0.27 points), whatever the categories' sizes.
TEST(SymbolPools, DrawsTakeEachCategoryAThirdOfTheTime) {
  SymbolPoolConfig c;
  c.word_list = "";
  const SymbolPools pools = build_symbol_pools(c);
  const std::set<std::string> integers(pools.heldout.integers.begin(), pools.heldout.integers.end());
  const std::set<std::string> letters(pools.heldout.letter_strings.begin(), pools.heldout.letter_strings.end());
  Rng rng = Rng::for_stream(3, 0);
  int64_t n_integers = 0, n_letters = 0, n_words = 0;
  for (int draw = 0; draw < 10000; ++draw) {
    const std::vector<std::string> labels = pools.heldout.draw_distinct(3, rng);
    ASSERT_EQ(std::set<std::string>(labels.begin(), labels.end()).size(), 3u) << "labels of a prompt are distinct";
    for (const auto& l : labels) {
      if (integers.count(l)) ++n_integers;
      else if (letters.count(l)) ++n_letters;
      else ++n_words;
    }
  }
  for (int64_t n : {n_integers, n_letters, n_words}) EXPECT_NEAR(n / 30000.0, 1.0 / 3, 0.015) << n;
  std::printf("held-out draws: %lld integers, %lld letter strings, %lld words of 30000\n", (long long)n_integers,
              (long long)n_letters, (long long)n_words);
  const SymbolPool one_symbol{{"1"}, {}, {}};
  EXPECT_THROW(one_symbol.draw_distinct(2, rng), Error);
}

TEST_F(DataTest, MixtureFractionHoldsWithinTwoPercentOverTenThousandExamples) {
  for (double fraction : {0.0, 0.16, 0.5, 0.84, 1.0}) {
    DataConfig c = config();
    c.symbol_fraction = fraction;
    ExampleSource source(c);
    int symbol = 0;
    for (uint64_t i = 0; i < 10000; ++i) symbol += source.example(i, 0).kind == "symbol";
    EXPECT_NEAR(symbol / 10000.0, fraction, 0.02) << "fraction " << fraction;
    if (fraction == 0.0 || fraction == 1.0) EXPECT_EQ(symbol, fraction * 10000) << "all or nothing means exactly that";
  }
}

TEST_F(DataTest, PackingKeepsTheMixtureOfRowsAndTokens) {
  // Long symbol prompts and short instructions: a per-example mixture would be skewed by
  // packing; rows (and so training tokens) must keep the asked ratio.
  write_dataset(dir.path(), "long", {"up", "down"}, 30, false, /*text_repeat=*/4);
  DataConfig c = config();
  c.tuning_datasets = {"long"};
  c.symbol_fraction = 0.7;
  c.max_input_tokens = 1200;
  c.max_target_tokens = 64;
  auto source = std::make_shared<ExampleSource>(c);
  BatchStream stream(source, std::make_shared<ByteTokenizer>());
  int symbol_rows = 0;
  int64_t symbol_tokens = 0, all_tokens = 0;
  const int rows = 2000;
  for (int r = 0; r < rows; ++r) {
    StreamCounters row_counters;
    stream.row(static_cast<uint64_t>(r), &row_counters);
    symbol_rows += row_counters.by_kind.count("symbol") > 0;
    EXPECT_EQ(row_counters.by_kind.size(), 1u) << "rows are homogeneous";
    for (const auto& [kind, tokens] : row_counters.tokens_by_kind) {
      all_tokens += tokens;
      if (kind == "symbol") symbol_tokens += tokens;
    }
  }
  // 2000 rows with p = 0.7: one standard deviation is 1 point.
  EXPECT_NEAR(symbol_rows / double(rows), 0.7, 0.02);
  // Rows are packed nearly full whatever their kind, so the real tokens keep the share too,
  // within the few points by which long symbol prompts leave more padding (0.678 measured).
  std::printf("symbol share: %.3f of rows, %.3f of tokens\n", symbol_rows / double(rows),
              symbol_tokens / double(all_tokens));
  EXPECT_NEAR(symbol_tokens / double(all_tokens), 0.7, 0.03);
}

TEST_F(DataTest, DatasetWeightingIsUniformProportionalOrCapped) {
  write_dataset(dir.path(), "big", {"x", "y"}, 400);  // 800 examples against 90 and 80
  for (auto [weighting, big_share] : {std::pair{DatasetWeighting::kUniform, 1.0 / 4},
                                      {DatasetWeighting::kProportional, 800.0 / 1050},
                                      {DatasetWeighting::kProportionalCapped, 100.0 / 350}}) {
    DataConfig c = config();
    write_dataset(dir.path(), "small", {"p", "q"}, 40);
    c.weighting = weighting;
    c.weight_cap_examples = 100;
    ExampleSource source(c);
    int big = 0;
    for (uint64_t i = 0; i < 8000; ++i) big += source.example(i, 0).source == "big";
    EXPECT_NEAR(big / 8000.0, big_share, 0.02);
  }
}

TEST_F(DataTest, LengthsNeverExceedTheLimitsTheQueryIsNeverCutAndLossCoversExactlyTheTargets) {
  write_dataset(dir.path(), "long", {"up", "down"}, 30, false, /*text_repeat=*/6);  // ~150-byte texts
  DataConfig c = config();
  c.tuning_datasets = {"long"};
  c.symbol_fraction = 0.7;
  c.max_input_tokens = 600;
  c.max_target_tokens = 16;  // instruction targets "Answer N" fit; force cuts with a long one below
  write_text_file_atomically(dir / "inst.jsonl",
                             json{{"input", "Say it long"}, {"target", std::string(100, 'z')}}.dump() + "\n");
  auto source = std::make_shared<ExampleSource>(c);
  ByteTokenizer tok;
  int dropped = 0, cut = 0;
  for (uint64_t i = 0; i < 300; ++i) {
    const TextExample ex = source->example(i, 0);
    const TokenizedExample t = tokenize_example(ex, tok, c.max_input_tokens, c.max_target_tokens);
    ASSERT_FALSE(t.unusable);
    EXPECT_LE(static_cast<int64_t>(t.prompt.size()), c.max_input_tokens);
    EXPECT_LE(static_cast<int64_t>(t.target.size()), c.max_target_tokens);
    EXPECT_EQ(t.prompt.front(), 1);
    EXPECT_EQ(t.target.back(), 2);
    // The prompt ends with the whole query.
    const std::string decoded = tok.decode({t.prompt.begin(), t.prompt.end()});
    ASSERT_GE(decoded.size(), ex.query.size());
    EXPECT_EQ(decoded.substr(decoded.size() - ex.query.size()), ex.query);
    EXPECT_EQ(decoded, ex.input(t.kept));
    dropped += t.exemplars_dropped > 0;
    cut += t.target_truncated;
  }
  EXPECT_GT(dropped, 0) << "the test must exercise exemplar dropping";
  EXPECT_GT(cut, 0) << "the test must exercise target cutting";

  BatchStream stream(source, std::make_shared<ByteTokenizer>());
  for (int b = 0; b < 5; ++b) {
    Batch batch = stream.next();
    ASSERT_EQ(batch.seq, c.row_tokens());
    for (int64_t r = 0; r < batch.rows; ++r) {
      // Rebuild each example's extent from its segment and check the labels against the tokens.
      int64_t loss_positions = 0;
      for (int64_t t = 0; t < batch.seq; ++t) {
        const int64_t i = r * batch.seq + t;
        if (batch.labels[i] == -100) continue;
        ++loss_positions;
        ASSERT_LT(t + 1, batch.seq);
        EXPECT_EQ(batch.labels[i], batch.tokens[i + 1]);
        EXPECT_EQ(batch.segment_ids[i], batch.segment_ids[i + 1]) << "a label never crosses examples";
        EXPECT_EQ(batch.position_ids[i + 1], batch.position_ids[i] + 1);
      }
      EXPECT_GT(loss_positions, 0) << "row " << r << " carries no loss";
      // Per example (a run of one segment id): its labels are one contiguous run ending one
      // before its last token, the last label EOS; padding (token 0) carries none.
      std::map<int64_t, std::vector<int64_t>> labelled;
      std::map<int64_t, int64_t> last;
      for (int64_t t = 0; t < batch.seq; ++t) {
        const int64_t i = r * batch.seq + t;
        last[batch.segment_ids[i]] = t;
        if (batch.labels[i] != -100) labelled[batch.segment_ids[i]].push_back(t);
      }
      for (const auto& [segment, end] : last) {
        const std::vector<int64_t>& l = labelled[segment];
        if (batch.tokens[r * batch.seq + end] == 0) {
          EXPECT_TRUE(l.empty()) << "padding carries a label";
          continue;
        }
        ASSERT_FALSE(l.empty()) << "example " << segment << " of row " << r << " has no target";
        EXPECT_EQ(l.back() - l.front() + 1, static_cast<int64_t>(l.size())) << "the target is one run";
        EXPECT_EQ(l.back(), end - 1) << "the target ends the example";
        EXPECT_EQ(batch.labels[r * batch.seq + l.back()], 2) << "the last label is EOS";
      }
    }
    int64_t labelled = 0;
    for (int64_t v : batch.labels) labelled += v != -100;
    EXPECT_EQ(labelled, batch.target_tokens) << "loss on every target token (EOS included) and nothing else";
  }
}

TEST_F(DataTest, PackedRowsRestartPositionsPerExampleAndPadOnlyTheTail) {
  DataConfig c = config();
  c.max_input_tokens = 1500;
  c.max_target_tokens = 100;
  auto source = std::make_shared<ExampleSource>(c);
  BatchStream stream(source, std::make_shared<ByteTokenizer>());
  Batch b = stream.next();
  for (int64_t r = 0; r < b.rows; ++r) {
    int64_t expected_position = 0, segment = 0;
    for (int64_t t = 0; t < b.seq; ++t) {
      const int64_t i = r * b.seq + t;
      if (b.segment_ids[i] != segment) {
        EXPECT_EQ(b.segment_ids[i], segment + 1);
        segment = b.segment_ids[i];
        expected_position = 0;
      }
      EXPECT_EQ(b.position_ids[i], expected_position++);
    }
  }
  EXPECT_GT(b.examples, b.rows) << "packing puts several examples in a row";
  // Padding (token 0, no label) only after a row's last example, and counted.
  int64_t padding = 0;
  for (int64_t r = 0; r < b.rows; ++r) {
    int64_t t = 0;
    while (t < b.seq && b.tokens[r * b.seq + t] != 0) ++t;
    for (; t < b.seq; ++t, ++padding) {
      EXPECT_EQ(b.tokens[r * b.seq + t], 0) << "a real token after padding in row " << r;
      EXPECT_EQ(b.labels[r * b.seq + t], -100);
    }
  }
  EXPECT_EQ(padding, b.padding_tokens);
  DataConfig unpacked = config();
  unpacked.pack = false;
  BatchStream single(std::make_shared<ExampleSource>(unpacked), std::make_shared<ByteTokenizer>());
  Batch u = single.next();
  EXPECT_EQ(u.examples, u.rows);
  EXPECT_LT(u.seq, unpacked.row_tokens()) << "unpacked batches pad only to their longest row";
}

TEST_F(DataTest, ResumingFromTheStateGivesIdenticalBatches) {
  DataConfig c = config();
  c.symbol_fraction = 0.5;
  auto source = std::make_shared<ExampleSource>(c);
  auto tok = std::make_shared<ByteTokenizer>();
  BatchStream straight(source, tok);
  std::vector<Batch> want;
  for (int i = 0; i < 6; ++i) want.push_back(straight.next());
  BatchStream first(source, tok);
  for (int i = 0; i < 3; ++i) first.next();
  const uint64_t state = first.next_batch();
  // A new process: new source, new stream, seek to the saved state.
  BatchStream resumed(std::make_shared<ExampleSource>(c), tok);
  resumed.seek(state);
  for (int i = 3; i < 6; ++i) {
    Batch b = resumed.next();
    EXPECT_EQ(b.tokens, want[i].tokens) << "batch " << i;
    EXPECT_EQ(b.labels, want[i].labels);
    EXPECT_EQ(b.segment_ids, want[i].segment_ids);
  }
}

TEST_F(DataTest, PrefetchedBatchesArriveInOrderIdenticalToInlineOnes) {
  DataConfig c = config();
  c.symbol_fraction = 0.5;
  auto source = std::make_shared<ExampleSource>(c);
  auto tok = std::make_shared<ByteTokenizer>();
  BatchStream stream(source, tok);
  for (int workers : {1, 3}) {
    BatchStream expected(source, tok);
    expected.seek(2);
    BatchPrefetcher prefetcher(stream, 2, workers, 2 * workers);
    for (int i = 0; i < 7; ++i) {
      const Batch want = expected.next();
      const Batch got = prefetcher.next();
      EXPECT_EQ(got.tokens, want.tokens) << workers << " workers, batch " << 2 + i;
      EXPECT_EQ(got.labels, want.labels);
      EXPECT_EQ(got.position_ids, want.position_ids);
      EXPECT_EQ(prefetcher.next_batch(), uint64_t(3 + i));
    }
  }  // destroying a prefetcher with batches in flight joins its threads
}

TEST_F(DataTest, OneTwoAndThreeRanksSeeTheSameGlobalBatches) {
  DataConfig c = config();  // 6 rows per global batch
  auto source = std::make_shared<ExampleSource>(c);
  auto tok = std::make_shared<ByteTokenizer>();
  BatchStream one(source, tok);
  for (int step = 0; step < 3; ++step) {
    const Batch global = one.next();
    for (int64_t world : {2, 3}) {
      std::vector<int64_t> joined;
      for (int64_t rank = 0; rank < world; ++rank) {
        BatchStream part(source, tok, rank, world);
        part.seek(static_cast<uint64_t>(step));
        Batch b = part.next();
        EXPECT_EQ(b.rows, 6 / world);
        joined.insert(joined.end(), b.tokens.begin(), b.tokens.end());
      }
      EXPECT_EQ(joined, global.tokens) << "world " << world << " step " << step;
    }
  }
  EXPECT_NE(error_of([&] { BatchStream(source, tok, 0, 4); }).find("not divisible by the 4 ranks"), std::string::npos);
}

// ---- bad input ------------------------------------------------------------------------------

TEST_F(DataTest, MalformedLinesAndUnknownLabelsNameTheFileAndLine) {
  write_dataset(dir.path(), "bad", {"a", "b"}, 5);
  std::string lines = read_text_file(dir / "bad" / "train.jsonl");
  write_text_file_atomically(dir / "bad" / "train.jsonl", lines + "{\"text\": \"oops\", \"label\": \n");
  std::string err = error_of([&] { load_classification_dataset(dir / "bad"); });
  EXPECT_NE(err.find("train.jsonl:11: not valid JSON"), std::string::npos) << err;
  write_text_file_atomically(dir / "bad" / "train.jsonl", lines + "{\"text\": \"x\", \"label\": \"c\"}\n");
  err = error_of([&] { load_classification_dataset(dir / "bad"); });
  EXPECT_NE(err.find("train.jsonl:11: label 'c' is not one of"), std::string::npos) << err;
  write_text_file_atomically(dir / "bad" / "train.jsonl", lines + "{\"label\": \"a\"}\n");
  err = error_of([&] { load_classification_dataset(dir / "bad"); });
  EXPECT_NE(err.find("train.jsonl:11: missing string field 'text'"), std::string::npos) << err;
  write_text_file_atomically(dir / "bad" / "train.jsonl", "\n");
  err = error_of([&] { load_classification_dataset(dir / "bad"); });
  EXPECT_NE(err.find("train.jsonl: empty file"), std::string::npos) << err;
  write_text_file_atomically(dir / "empty.jsonl", "");
  EXPECT_NE(error_of([&] { load_instruction_jsonl(dir / "empty.jsonl"); }).find("empty file"), std::string::npos);
  // A file without newlines is refused before it is held whole; a last line without one is read.
  write_text_file_atomically(dir / "bad" / "train.jsonl", lines + std::string(17 << 20, 'x'));
  err = error_of([&] { load_classification_dataset(dir / "bad"); });
  EXPECT_NE(err.find("train.jsonl:11: line longer than 16 MiB"), std::string::npos) << err.substr(0, 200);
  write_text_file_atomically(dir / "bad" / "train.jsonl", lines + "{\"text\": \"last\", \"label\": \"b\"}");
  EXPECT_EQ(load_classification_dataset(dir / "bad").train.size(), 11u);
}

// Cut to fit, a prompt keeps at least one exemplar of every class, so the query's symbol always
// appears in it; when even that does not fit, the prompt is unusable (skipped and counted).
TEST_F(DataTest, CutPromptsKeepAnExemplarOfEveryClass) {
  std::vector<std::string> labels;
  for (int i = 0; i < 12; ++i) labels.push_back("class" + std::to_string(i));
  write_dataset(dir.path(), "twelve", labels, 12, false, /*text_repeat=*/6);
  const ClassificationDataset d = load_classification_dataset(dir / "twelve");
  ByteTokenizer tok;
  IclOptions o;
  o.k_min = 3;
  o.k_max = 3;
  int cut = 0, unusable = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    Rng rng = Rng::for_stream(9, i);
    const TextExample ex = build_icl_prompt(d, small_pools().tuning, o, rng);
    ASSERT_EQ(ex.exemplar_labels.size(), ex.exemplars.size());
    const TokenizedExample t = tokenize_example(ex, tok, 12 * 110 + (i % 3) * 400, 16);
    if (t.unusable) {
      ++unusable;
      continue;
    }
    std::set<int32_t> shown;
    for (size_t e = 0; e < ex.exemplars.size(); ++e)
      if (t.kept[e]) shown.insert(ex.exemplar_labels[e]);
    EXPECT_EQ(shown.size(), 12u) << "prompt " << i << " lost every exemplar of a class";
    cut += t.exemplars_dropped > 0;
  }
  EXPECT_GT(cut, 50) << "the budget must force cuts";
  EXPECT_GT(unusable, 0) << "the tightest budget must leave some prompts unusable";
  std::printf("of 200 prompts: %d cut keeping every class, %d unusable\n", cut, unusable);
}

TEST_F(DataTest, ADatasetWhosePromptsNeverFitIsNamed) {
  write_dataset(dir.path(), "essays", {"up", "down"}, 20, false, /*text_repeat=*/40);
  DataConfig c = config();
  c.tuning_datasets = {"essays"};
  c.symbol_fraction = 1.0;
  c.max_input_tokens = 64;
  BatchStream stream(std::make_shared<ExampleSource>(c), std::make_shared<ByteTokenizer>());
  const std::string err = error_of([&] { stream.row(0); });
  EXPECT_NE(err.find("none of the 65 examples drawn fits data.max_input_tokens = 64"), std::string::npos) << err;
  EXPECT_NE(err.find("they came from: essays (65)"), std::string::npos) << err;
}

TEST_F(DataTest, OneClassOrTooFewExamplesForKAreRefused) {
  write_dataset(dir.path(), "single", {"only"}, 20);
  write_dataset(dir.path(), "tiny", {"a", "b"}, 2);
  IclOptions o;
  EXPECT_NE(error_of([&] { check_icl_ready(load_classification_dataset(dir / "single"), o); }).find("only one class"),
            std::string::npos);
  const std::string err = error_of([&] { check_icl_ready(load_classification_dataset(dir / "tiny"), o); });
  EXPECT_NE(err.find("class 'a' has 2 training example(s); prompts need at least k_min + 1 = 3"), std::string::npos)
      << err;
  DataConfig c = config();
  c.tuning_datasets = {"tiny"};
  EXPECT_NE(error_of([&] { ExampleSource s(c); }).find("'tiny'"), std::string::npos);
}

TEST(SymbolPools, AnUnreadableWordListIsAnErrorWhenNamedAndAFallbackOtherwise) {
  SymbolPoolConfig c;
  c.word_list = "/nonexistent/words";
  c.word_list_required = true;
  EXPECT_NE(error_of([&] { build_symbol_pools(c); }).find("/nonexistent/words: cannot read the word list"),
            std::string::npos);
  c.word_list_required = false;  // the default path missing: generated pseudo-words
  const SymbolPools pools = build_symbol_pools(c);
  EXPECT_EQ(pools.word_source, "generated pseudo-words");
  EXPECT_EQ(pools.tuning.size(), 30000u);  // 10k integers + 10k letter strings + 10k words
}

TEST(DataConfigParsing, TyposAndBadValuesAreClearErrors) {
  auto parse = [](const std::string& text) {
    return error_of([&] { parse_data_config(json::parse(text), "data", "/tmp"); });
  };
  EXPECT_NE(parse(R"({"classification_dir": "x", "symbol_fraktion": 0.5})").find("did you mean 'symbol_fraction'"),
            std::string::npos);
  EXPECT_NE(parse(R"({"classification_dir": "x", "symbol_fraction": 1.5})").find("'symbol_fraction' must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(parse(R"({"classification_dir": "x", "exemplars_per_class": [5, 2]})").find("exemplars_per_class"),
            std::string::npos);
  EXPECT_NE(parse(R"({"classification_dir": "${SYMTUNE_SURELY_UNSET_VAR}/c"})").find("SYMTUNE_SURELY_UNSET_VAR"),
            std::string::npos);
  EXPECT_EQ(parse(R"({"classification_dir": "${SYMTUNE_SURELY_UNSET_VAR:-rel}/c"})"), "");
  EXPECT_EQ(resolve_path("${SYMTUNE_SURELY_UNSET_VAR:-rel}/c", "/base", "x"), "/base/rel/c");
  // Values of the wrong JSON type are named, never converted: past INT64_MAX is not -1.
  EXPECT_NE(parse(R"({"classification_dir": "x", "max_input_tokens": 18446744073709551615})")
                .find("data: 'max_input_tokens' must be an integer, found 18446744073709551615"),
            std::string::npos);
  EXPECT_NE(parse(R"({"classification_dir": "x", "pack": 1})").find("'pack' must be true or false, found 1"),
            std::string::npos);
  EXPECT_NE(parse(R"({"classification_dir": "x", "weighting": "even"})")
                .find(R"('weighting' must be "uniform", "proportional" or "proportional_capped", found "even")"),
            std::string::npos);
  EXPECT_NE(parse(R"({"classification_dir": "x", "symbols": {"seed": -2}})")
                .find("data.symbols: 'seed' must be a non-negative integer, found -2"),
            std::string::npos);
  // A symbols section that does not name a word list keeps the optional default one.
  EXPECT_FALSE(parse_symbol_pool_config(json::parse(R"({"seed": 3})"), "symbols").word_list_required);
  EXPECT_TRUE(parse_symbol_pool_config(json::parse(R"({"word_list": "/w"})"), "symbols").word_list_required);
}

}  // namespace
}  // namespace symtune

namespace symtune {
namespace {

// The pre-tokenizer patterns on one text, split by hand from their regexes: digits one at
// a time (Qwen2) or up to three (Llama 3) or all (GPT-2); punctuation takes the line breaks after
// it except in GPT-2; a space before a letter joins it; the last of several spaces starts the
// next piece; contractions are case-insensitive except in GPT-2.
TEST(PreTokenizer, EachPatternSplitsAsItsRegex) {
  const std::string text = "Hello world123 456!!\n\n  x";
  using V = std::vector<std::string>;
  EXPECT_EQ(split_pretokens(text, PreTokenizerPattern::kQwen2),
            (V{"Hello", " world", "1", "2", "3", " ", "4", "5", "6", "!!\n\n", " ", " x"}));
  EXPECT_EQ(split_pretokens(text, PreTokenizerPattern::kLlama3),
            (V{"Hello", " world", "123", " ", "456", "!!\n\n", " ", " x"}));
  EXPECT_EQ(split_pretokens(text, PreTokenizerPattern::kGpt2),
            (V{"Hello", " world", "123", " 456", "!!", "\n\n ", " x"}));
  EXPECT_EQ(split_pretokens("I'M (ok)\t\n", PreTokenizerPattern::kLlama3), (V{"I", "'M", " (", "ok", ")", "\t\n"}));
  EXPECT_EQ(split_pretokens("I'M", PreTokenizerPattern::kGpt2), (V{"I", "'", "M"}));
  // o200k: a letter run splits where lower case turns upper (an upper run keeps one lower-case
  // tail), contractions join the word, punctuation takes the slashes and line breaks after it.
  EXPECT_EQ(split_pretokens("HelloWORLD McDonald's iPhoneX", PreTokenizerPattern::kO200k),
            (V{"Hello", "WORLD", " Mc", "Donald's", " i", "Phone", "X"}));
  EXPECT_EQ(split_pretokens("DON'T /usr//bin\n/x", PreTokenizerPattern::kO200k),
            (V{"DON'T", " /", "usr", "//", "bin", "\n", "/x"}));
  EXPECT_EQ(normalize_nfc("cafe\xcc\x81"), "caf\xc3\xa9");  // e + combining acute -> e-acute
  EXPECT_EQ(pattern_of_regex("\\p{L}+"), std::nullopt);
}

}  // namespace
}  // namespace symtune

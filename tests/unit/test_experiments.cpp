// The reproduction's arms and report (experiments/), the agreement column of `symtune compare`,
// and the CPU's bf16 choice behind
// `dtype: auto` (model/placement.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/cpu_features.h"
#include "common/error.h"
#include "eval/report_tables.h"
#include "experiments/reproduction.h"
#include "experiments/reproduction_report.h"
#include "model/placement.h"

namespace symtune {
namespace {
using json = nlohmann::json;

TEST(Reproduction, ArmsAreThePapersFourInTheirOrder) {
  const auto arms = reproduction_arms({"symbol", "base", "mixed", "instruction"}, 0.84);
  ASSERT_EQ(arms.size(), 4u);
  EXPECT_EQ(arms[0].name, "base");
  EXPECT_FALSE(arms[0].symbol_fraction.has_value());
  EXPECT_EQ(*arms[1].symbol_fraction, 0.0);
  EXPECT_EQ(*arms[2].symbol_fraction, 0.84);
  EXPECT_EQ(*arms[3].symbol_fraction, 1.0);
  EXPECT_EQ(reproduction_arms({"mixed"}, 0.5).at(0).key, "c");
  try {
    reproduction_arms({"base", "tuned"}, 0.84);
    FAIL() << "an unknown arm was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown arm 'tuned'"), std::string::npos) << e.what();
  }
}

// A task entry as evaluate_icl_task reports it.
json task(const std::string& outcomes) {
  int64_t correct = 0, n = 0;
  for (char c : outcomes) {
    n += c != '-';
    correct += c == '1';
  }
  return {{"accuracy", n ? double(correct) / n : 0.0}, {"correct", correct}, {"n", n}, {"outcomes", outcomes}};
}

json arm(const std::string& key, const std::string& name, const std::string& t1, const std::string& t2) {
  json setting = {{"tasks", {{"t1", task(t1)}, {"t2", task(t2)}}}, {"mean", 0.5}, {"mean_interval", {0.2, 0.8}}};
  json report = {
      {"suites",
       {{"icl", {{"settings", {{"symbols", setting}}}}},
        {"flipped", {{"settings", {{"flipped_0", setting}, {"flipped_100", setting}, {"flipped_50", setting}}}}}}}};
  return {{"key", key},           {"name", name},         {"label", "(" + key + ") " + name},
          {"train_wall_s", 60.0}, {"eval_wall_s", 120.0}, {"report", report}};
}

// The (c) - (a) difference on hand-made outcomes: t1 0/8 -> 8/8, t2 unchanged, so +0.5 over the
// two tasks, every resample the same (interval [0.5, 0.5]), and 8 discordant pairs all one way:
// McNemar p = 2 x 0.5^8 = 0.0078. (d) - (a): t1 0/8 -> 4/8, 4 discordant pairs, p = 0.125: the
// interval excludes 0 but the test does not reject.
TEST(Reproduction, ReportShowsTableOneAndPairedDifferencesOfTheOutcomes) {
  json summary = {{"scale", "test"},
                  {"command", "symtune reproduce --config c.json"},
                  {"config", "c.json"},
                  {"overrides", json::array()},
                  {"base_model", "base_dir"},
                  {"mixed_fraction", 0.84},
                  {"eval",
                   {{"examples_per_task", 4},
                    {"tasks", {"t1", "t2"}},
                    {"exemplars_per_class", 4},
                    {"max_input_tokens", 384},
                    {"flip_percents", {0, 100}},
                    {"seed", 0}}},
                  {"machine", {{"cpu", "test CPU"}}},
                  {"started", "2026-12-02 00:00 UTC"},
                  {"wall_s", 600.0},
                  {"arms",
                   {arm("a", "base", "00000000", "0101"), arm("b", "instruction", "00000000", "0101"),
                    arm("c", "mixed", "11111111", "0101"), arm("d", "symbol", "11110000", "0101")}}};
  const std::string md = reproduction_markdown(summary);
  EXPECT_NE(md.find("Command: `symtune reproduce --config c.json`"), std::string::npos);
  EXPECT_NE(md.find("wall time 10.0 min"), std::string::npos);
  EXPECT_NE(md.find("| arm | icl: symbols |"), std::string::npos) << md;
  EXPECT_NE(md.find("| arm | t1 | t2 | mean |"), std::string::npos) << md;
  EXPECT_NE(md.find("| (c) mixed | 1.000"), std::string::npos) << md;
  // Shares in numeric order, not as strings sort ("flipped_100" < "flipped_50").
  EXPECT_NE(md.find("| arm | flipped: flipped_0 | flipped: flipped_50 | flipped: flipped_100 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| icl | symbols | +0.000 [+0.00, +0.00], p=1 | +0.500 [+0.50, +0.50], p=0.00781 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("(c) - (a), icl / symbols: +0.500 [+0.500, +0.500], McNemar p = 0.00781 on 12 paired queries: "
                    "higher: the interval excludes 0 and McNemar's test rejects no difference at 5%."),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("(d) - (a), icl / symbols: +0.250 ["), std::string::npos) << md;
  EXPECT_NE(md.find("McNemar p = 0.125 on 12 paired queries: the bootstrap interval excludes 0 but McNemar's p is "
                    "0.12: not established at this size."),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("(b) - (a), icl / symbols: +0.000 [+0.000, +0.000], McNemar p = 1 on 12 paired queries: the "
                    "interval includes 0"),
            std::string::npos)
      << md;
}

// `symtune compare` counts the draws on which two reports agree (both right or both wrong),
// as one uses it for fp32 against bf16: t1 differs on 2 of 8 draws, t2 on none; the mean row
// pools the 16 pairs.
TEST(Compare, CountsTheDrawsWithTheSameOutcome) {
  const json a = arm("a", "fp32", "11110000", "10101010")["report"];
  const json b = arm("b", "bf16", "11010001", "10101010")["report"];
  const std::string md = compare_reports_markdown({a, b}, {"fp32", "bf16"});
  EXPECT_NE(md.find("| same outcome |"), std::string::npos) << md;
  EXPECT_NE(md.find("| icl | symbols | t1 | 0.500 n=8 | 0.500 n=8 | +0.000 [-0.38, +0.38] | 1 | 6/8 (0.750) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| icl | symbols | t2 | 0.500 n=8 | 0.500 n=8 | +0.000 [+0.00, +0.00] | 1 | 8/8 (1.000) |"),
            std::string::npos)
      << md;
  EXPECT_NE(
      md.find("| icl | symbols | **mean** | 0.500 [0.20, 0.80] | 0.500 [0.20, 0.80] | +0.000 [-0.19, +0.19] | 1 | "
              "14/16 (0.875) |"),
      std::string::npos)
      << md;
}

TEST(CpuBf16, AutoPicksBf16OnCpusWithNativeUnitsOnly) {
  const c10::Device cpu(c10::kCPU);
  EXPECT_EQ(resolve_dtype(DtypeChoice::kAuto, cpu, {true, false}), c10::kBFloat16);
  EXPECT_EQ(resolve_dtype(DtypeChoice::kAuto, cpu, {false, true}), c10::kBFloat16);
  EXPECT_EQ(resolve_dtype(DtypeChoice::kAuto, cpu, {}), c10::kFloat);
  EXPECT_EQ(resolve_dtype(DtypeChoice::kFloat32, cpu, {true, true}), c10::kFloat);
  EXPECT_EQ(resolve_dtype(DtypeChoice::kBFloat16, cpu, {}), c10::kBFloat16);
  EXPECT_EQ(resolve_dtype(DtypeChoice::kAuto, c10::Device(c10::kCUDA, 0), {}), c10::kBFloat16);
  // This machine's answer, named in the log line.
  const CpuBf16Support here = cpu_bf16_support();
  const std::string note = dtype_choice_note(DtypeChoice::kAuto, cpu);
  EXPECT_EQ(note, std::string("dtype auto: ") + (here.native() ? "bfloat16" : "float32") + " on cpu (this CPU has " +
                      describe(here) + ")");
  EXPECT_EQ(dtype_choice_note(DtypeChoice::kFloat32, cpu), "");
}

}  // namespace
}  // namespace symtune

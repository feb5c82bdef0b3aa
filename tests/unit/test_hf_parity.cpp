// Parity with HF transformers: tiny random models of each supported architecture, written by
// tests/python/make_hf_fixtures.py, must give HF's logits, plain and with packed rows, HF's
// gradient for every parameter, and HF's greedy continuation.
#include <gtest/gtest.h>

#include <torch/cuda.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/icl_scoring.h"
#include "model/generate.h"
#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "model/varlen_attention.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;

// fp32 on CPU: the same operations in a different order (SDPA vs HF's eager matmuls, fused
// vs split RoPE) differ by a few ulps per layer; 1e-4 on logits of magnitude ~1 leaves
// room for that and none for a wrong formula (those show up at 1e-2 and above).
constexpr double kFp32Tolerance = 1e-4;

struct Fixture {
  at::Tensor tokens, position_ids, segment_ids;
};

Fixture read_fixture(const fs::path& dir) {
  std::ifstream in(dir / "reference.json");
  nlohmann::json j = nlohmann::json::parse(in);
  auto to_tensor = [](const nlohmann::json& rows) {
    std::vector<at::Tensor> out;
    for (const auto& r : rows) out.push_back(at::tensor(r.get<std::vector<int64_t>>(), at::kLong));
    return at::stack(out);
  };
  return {to_tensor(j["tokens"]), to_tensor(j["position_ids"]), to_tensor(j["segment_ids"])};
}

class HfParity : public ::testing::TestWithParam<std::string> {
 protected:
  // The fixture folder of this case. Outside ctest (no SYMTUNE_HF_FIXTURES), or when the
  // generator could not run (no transformers), the test skips, or fails under CI; a generator
  // that ran but wrote no folder for this case is a failure everywhere.
  fs::path case_dir() const {
    const fs::path root = test::hf_fixtures_dir();
    if (root.empty() || !fs::exists(root)) return {};
    EXPECT_TRUE(fs::exists(root / GetParam())) << "make_hf_fixtures.py wrote no fixture for " << GetParam();
    return fs::exists(root / GetParam()) ? root / GetParam() : fs::path();
  }
};

TEST_P(HfParity, LogitsMatchTransformersInFp32WithAndWithoutPacking) {
  const fs::path dir = case_dir();
  if (HasFailure()) return;
  SYMTUNE_REQUIRE(!dir.empty(), "HF fixtures (run via ctest: make_hf_fixtures.py writes them)");
  Fixture fx = read_fixture(dir);
  auto ref = SafetensorsFile::open(dir / "reference.safetensors");
  auto model = load_pretrained(dir);
  at::NoGradGuard no_grad;
  const at::Tensor plain = model->forward(fx.tokens);
  const double plain_err = test::max_abs_diff(plain, ref.load("plain_logits"));
  const at::Tensor packed = model->forward(fx.tokens, PackedRows{fx.position_ids, fx.segment_ids});
  const double packed_err = test::max_abs_diff(packed, ref.load("packed_logits"));
  std::printf("%s: max |logit - HF| plain %.3g, packed %.3g (logit scale %.3g)\n", GetParam().c_str(), plain_err,
              packed_err, plain.abs().max().item<double>());
  EXPECT_LE(plain_err, kFp32Tolerance);
  EXPECT_LE(packed_err, kFp32Tolerance);
  // A packed forward must differ from the plain one (the test data would be useless otherwise).
  EXPECT_GT(test::max_abs_diff(plain, packed), 1e-3);
}

// One backward of HF's loss (mean next-token cross-entropy over the plain rows): each
// parameter's gradient against HF's, tensor by tensor, so a wrong formula names its tensor.
TEST_P(HfParity, GradientsMatchTransformersTensorByTensorInFp32) {
  const fs::path dir = case_dir();
  if (HasFailure()) return;
  SYMTUNE_REQUIRE(!dir.empty(), "HF fixtures (run via ctest: make_hf_fixtures.py writes them)");
  Fixture fx = read_fixture(dir);
  auto ref = SafetensorsFile::open(dir / "reference_grads.safetensors");
  LoadOptions load;
  load.requires_grad = true;
  auto model = load_pretrained(dir, load);
  const int64_t T = fx.tokens.size(1), V = model->config().vocab_size;
  const at::Tensor logits = model->logits(model->hidden_states(fx.tokens));
  at::cross_entropy_loss(logits.slice(1, 0, T - 1).reshape({-1, V}), fx.tokens.slice(1, 1).reshape({-1})).backward();
  int64_t compared = 0;
  double worst = 0;
  model->for_each_parameter([&](const std::string& name, at::Tensor& t) {
    ASSERT_NE(ref.find(name), nullptr) << name << " has no HF gradient";
    const at::Tensor want = ref.load(name);
    ASSERT_TRUE(t.grad().defined()) << name << " got no gradient";
    // fp32 rounding in another order: relative to the tensor's largest gradient entry.
    const double scale = want.abs().max().item<double>(), err = test::max_abs_diff(t.grad(), want);
    EXPECT_LE(err, 1e-6 + 1e-4 * scale) << name << ": max |grad - HF| " << err << ", HF's largest " << scale;
    worst = std::max(worst, err / (scale + 1e-12));
    ++compared;
  });
  EXPECT_EQ(compared, static_cast<int64_t>(ref.entries().size())) << "HF has gradients for tensors symtune lacks";
  std::printf("%s: %lld gradients, worst relative difference %.3g\n", GetParam().c_str(),
              static_cast<long long>(compared), worst);
}

// 32 greedy tokens through symtune's cached decoding, against HF's full forwards.
TEST_P(HfParity, GreedyGenerationGivesTransformersTokens) {
  const fs::path dir = case_dir();
  if (HasFailure()) return;
  SYMTUNE_REQUIRE(!dir.empty(), "HF fixtures (run via ctest: make_hf_fixtures.py writes them)");
  std::ifstream in(dir / "reference.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  auto model = load_pretrained(dir);
  GenerateOptions greedy;
  greedy.max_new_tokens = 32;
  EXPECT_EQ(generate(*model, j["greedy_prompt"].get<std::vector<int64_t>>(), greedy),
            j["greedy_ids"].get<std::vector<int64_t>>());
}

// Rank classification with several queries per forward (ragged prompts right-padded in one
// batch, each continuing at its own position, windows and rotary by position) gives the
// scores of one full forward per candidate, in every family: windowed layers (prompts longer
// than the window), soft-capped scores, layers without rotary, per-layer rotary bases.
TEST_P(HfParity, SeveralQueriesPerForwardGiveTheFullForwardsScores) {
  const fs::path dir = case_dir();
  if (HasFailure()) return;
  SYMTUNE_REQUIRE(!dir.empty(), "HF fixtures (run via ctest: make_hf_fixtures.py writes them)");
  auto model = load_pretrained(dir);
  at::manual_seed(11);
  const int64_t V = model->config().vocab_size;
  auto random_ids = [&](int64_t n) {
    const at::Tensor t = at::randint(3, V, {n}, at::kLong);
    return std::vector<int32_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
  };
  std::vector<ScoringQuery> queries;
  for (int64_t length : {17, 6, 29, 11, 23})
    queries.push_back({random_ids(length), {random_ids(1), random_ids(4), random_ids(2)}});
  const auto batched = score_queries_sharing_prompts(*model, queries);
  double worst = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto full = score_candidates(*model, queries[q].prompt, queries[q].candidates);
    for (size_t c = 0; c < full.size(); ++c) worst = std::max(worst, std::abs(full[c] - batched[q][c]));
  }
  std::printf("%s: 5 ragged queries in one batch, max |log p - full forward| %.3g\n", GetParam().c_str(), worst);
  EXPECT_LE(worst, 1e-4);
}

TEST_P(HfParity, LogitsMatchTransformersInBf16OnCuda) {
  const fs::path dir = case_dir();
  if (HasFailure()) return;
  SYMTUNE_REQUIRE(!dir.empty(), "HF fixtures (run via ctest: make_hf_fixtures.py writes them)");
  if (!torch::cuda::is_available() || !fs::exists(dir / "reference_bf16_cuda.safetensors"))
    GTEST_SKIP() << "needs a CUDA device and fixtures written on it";
  Fixture fx = read_fixture(dir);
  auto ref = SafetensorsFile::open(dir / "reference_bf16_cuda.safetensors");
  auto ref32 = SafetensorsFile::open(dir / "reference.safetensors");
  LoadOptions load;
  load.dtype = at::kBFloat16;
  load.device = c10::Device(c10::kCUDA, 0);
  auto model = load_pretrained(dir, load);
  at::NoGradGuard no_grad;
  // How far HF's own bf16 run is from the fp32 truth sets the scale of acceptable bf16 error.
  const double hf_bf16_err = test::max_abs_diff(ref.load("plain_logits"), ref32.load("plain_logits"));
  // The reference ops, and the default kernel choice (fused RMSNorm on CUDA) that users get.
  for (const auto rms : {KernelOptions::RmsNorm::kReference, KernelOptions::RmsNorm::kAuto}) {
    model->set_kernels({KernelOptions::Attention::kAuto, rms});
    const at::Tensor plain = model->forward(fx.tokens);
    const at::Tensor packed = model->forward(fx.tokens, PackedRows{fx.position_ids, fx.segment_ids});
    const double plain_err = test::max_abs_diff(plain, ref.load("plain_logits"));
    const double packed_err = test::max_abs_diff(packed, ref.load("packed_logits"));
    const char* kernels = rms == KernelOptions::RmsNorm::kAuto ? "default kernels" : "reference ops";
    std::printf("%s bf16 cuda (%s): max |logit - HF bf16| plain %.3g, packed %.3g; HF bf16 vs fp32 %.3g\n",
                GetParam().c_str(), kernels, plain_err, packed_err, hf_bf16_err);
    EXPECT_LE(plain_err, std::max(2 * hf_bf16_err, 0.05)) << kernels;
    EXPECT_LE(packed_err, std::max(2 * hf_bf16_err, 0.05)) << kernels;
  }
  // Packed rows with their segment lengths: variable-length FlashAttention where it applies
  // (not for a sliding window shorter than the row: the mask there).
  const at::Tensor seg = fx.segment_ids.to(at::kCPU).contiguous();
  PackedRows varlen{fx.position_ids, fx.segment_ids,
                    segment_lengths(seg.data_ptr<int64_t>(), seg.size(0), seg.size(1))};
  const double varlen_err = test::max_abs_diff(model->forward(fx.tokens, varlen), ref.load("packed_logits"));
  std::printf("%s bf16 cuda (packed, segment lengths given): max |logit - HF bf16| %.3g\n", GetParam().c_str(),
              varlen_err);
  EXPECT_LE(varlen_err, std::max(2 * hf_bf16_err, 0.05));
}

INSTANTIATE_TEST_SUITE_P(AllArchitectures, HfParity,
                         ::testing::Values("llama", "llama_llama3_rope_tied", "mistral_sliding_window", "qwen2",
                                           "qwen3", "qwen3_tied_bias", "gemma", "gemma_untied", "gemma2",
                                           "gemma2_untied_nocap", "gemma3_text", "gemma3_text_capped_untied", "olmo2",
                                           "olmo2_mqa_tied_bias", "smollm3", "smollm3_untied_bias", "qwen3_sliding",
                                           "smollm3_sliding", "phi3_sliding", "phi3_longrope_partial_mqa_tied",
                                           "gemma3_multimodal"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace symtune

// The fast kernels against the reference ops. On CPU: segment lengths, the kernel options'
// rules and errors, the fused RMSNorm formula and the chunked loss. On CUDA (GPU machines): packed rows through
// FlashAttention's variable-length kernel and the fused RMSNorm give the reference path's
// logits and gradients to bf16 precision, for plain and grouped-query attention.
#include <gtest/gtest.h>

#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <nlohmann/json.hpp>

#include <random>

#include "common/error.h"
#include "model/activation_memory.h"
#include "model/chunked_cross_entropy.h"
#include "model/fused_elementwise.h"
#include "model/rope.h"
#include "model/transformer.h"
#include "model/varlen_attention.h"
#include "test_support.h"

namespace symtune {
namespace {

ModelConfig llama(int64_t heads, int64_t kv_heads, int64_t hidden) {
  return parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":300,"hidden_size":)" +
                                std::to_string(hidden) + R"(,"intermediate_size":)" + std::to_string(2 * hidden) +
                                R"(,"num_hidden_layers":2,"num_attention_heads":)" + std::to_string(heads) +
                                R"(,"num_key_value_heads":)" + std::to_string(kv_heads) + R"(,"rms_norm_eps":1e-5})",
                            "test config");
}

// Rows of examples of random lengths (and padding at the end), as the batch builder lays them out.
struct PackedBatch {
  at::Tensor tokens, positions, segments;
  std::vector<int32_t> lengths;
};

PackedBatch random_packed_rows(int64_t rows, int64_t seq, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> pos, seg;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t t = 0, id = 0;
    while (t < seq) {
      const int64_t len = std::min<int64_t>(seq - t, 1 + rng() % (seq / 2));
      for (int64_t i = 0; i < len; ++i) {
        pos.push_back(i);
        seg.push_back(id);
      }
      t += len;
      ++id;
    }
  }
  PackedBatch b;
  b.tokens = at::randint(3, 300, {rows, seq}, at::kLong);
  b.positions = at::tensor(pos, at::kLong).view({rows, seq});
  b.segments = at::tensor(seg, at::kLong).view({rows, seq});
  b.lengths = segment_lengths(seg.data(), rows, seq);
  return b;
}

TEST(SegmentLengths, RunsOfEqualIdsPerRow) {
  const std::vector<int64_t> ids = {0, 0, 0, 1, 1, 2,   // row 0: 3, 2, 1
                                    0, 0, 0, 0, 0, 0,   // row 1: 6
                                    0, 1, 1, 1, 1, 0};  // row 2: ids may repeat, runs do not merge
  EXPECT_EQ(segment_lengths(ids.data(), 3, 6), (std::vector<int32_t>{3, 2, 1, 6, 1, 4, 1}));
  const VarlenSegments s = make_varlen_segments({3, 2, 1, 6}, c10::Device("cpu"));
  EXPECT_TRUE(at::equal(s.cu_seqlens, at::tensor({0, 3, 5, 6, 12}, at::kInt)));
  EXPECT_EQ(s.max_length, 6);
  EXPECT_EQ(s.tokens, 12);
  // Segments that do not cover the batch are refused, whichever path would run.
  const at::Tensor q = at::randn({11, 2, 8}), kv = at::randn({11, 1, 8});
  try {
    varlen_causal_attention(q, kv, kv, s, 1.0);
    FAIL() << "segments covering 12 tokens were accepted for 11";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the segments cover 12 tokens, the batch has 11"), std::string::npos)
        << e.what();
  }
}

TEST(KernelOptions, ParseAndRefuseWhatCannotRun) {
  auto parse = [](const char* text) { return parse_kernel_options(nlohmann::json::parse(text), "model.kernels"); };
  const KernelOptions k = parse(R"({"attention": "flash_varlen", "rms_norm": "fused", "elementwise": "fused",
                                    "loss": "chunked"})");
  EXPECT_EQ(k.attention, KernelOptions::Attention::kFlashVarlen);
  EXPECT_EQ(k.rms_norm, KernelOptions::RmsNorm::kFused);
  EXPECT_EQ(k.elementwise, KernelOptions::Elementwise::kFused);
  EXPECT_EQ(k.loss, KernelOptions::Loss::kChunked);
  for (const char* bad : {R"({"attention": "flash"})", R"({"rms_norm": ""})", R"({"elementwise": "auto"})",
                          R"({"loss": "fused"})", R"({"los": "chunked"})"})
    EXPECT_THROW(parse(bad), Error) << bad;

  ModelConfig c = llama(4, 2, 64);
  Transformer model(c, Transformer::random_weights(c, 1, at::kFloat));
  model.set_kernels({KernelOptions::Attention::kFlashVarlen, KernelOptions::RmsNorm::kAuto});
  PackedBatch b = random_packed_rows(2, 16, 4);
  try {
    at::NoGradGuard no_grad;
    model.forward(b.tokens, PackedRows{b.positions, b.segments});  // no segment lengths
    FAIL() << "flash_varlen without segment lengths was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("segment lengths are missing"), std::string::npos) << e.what();
  }
  ModelConfig gemma = parse_model_config(R"({"architectures":["GemmaForCausalLM"],"vocab_size":50,"hidden_size":32,
    "intermediate_size":40,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":1,"head_dim":8})",
                                         "g");
  Transformer g(gemma, Transformer::random_weights(gemma, 1, at::kFloat));
  EXPECT_THROW(g.set_kernels({KernelOptions::Attention::kAuto, KernelOptions::RmsNorm::kFused}), Error);
}

// The activation estimate against the one measurement we have (H200, 124M Llama, bf16, 16 x 2560
// tokens: 20.0 GiB peak without checkpointing, 4.7 GiB with, i.e. 33.4 KB per token and layer),
// and the auto decision on either side of the line.
TEST(ActivationMemory, EstimateMatchesTheMeasurementAndDecidesByFreeMemory) {
  ModelConfig c = parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":32000,"hidden_size":768,
    "intermediate_size":2048,"num_hidden_layers":12,"num_attention_heads":12,"num_key_value_heads":12})",
                                     "124m");
  const double measured = (20.0 - 4.7) * double(1ull << 30) / (12 * 16 * 2560);
  const double estimated = static_cast<double>(activation_bytes_per_token_per_layer(c, 2, /*fused_rms_norm=*/false));
  EXPECT_NEAR(estimated / measured, 1.0, 0.1) << estimated << " vs " << measured;
  EXPECT_LT(activation_bytes_per_token_per_layer(c, 2, true), activation_bytes_per_token_per_layer(c, 2, false));
  const int64_t GiB = int64_t(1) << 30, grads = 134'000'000 * 2;
  const auto roomy = decide_activation_checkpointing(c, 16 * 2560, 2, false, grads, 120 * GiB, 140 * GiB);
  EXPECT_FALSE(roomy.on) << roomy.activation_gib << " GiB needed, " << roomy.available_gib << " available";
  const auto tight = decide_activation_checkpointing(c, 16 * 2560, 2, false, grads, 12 * GiB, 24 * GiB);
  EXPECT_TRUE(tight.on);
  EXPECT_GT(tight.activation_gib, tight.available_gib);
}

// On the CPU "auto" keeps the reference ops, and the fused RMSNorm (at::rms_norm) computes
// the same function as the reference in fp32.
TEST(KernelOptions, FusedRmsNormMatchesReferenceInFp32) {
  ModelConfig c = llama(4, 2, 64);
  PackedBatch b = random_packed_rows(2, 24, 5);
  Transformer model(c, Transformer::random_weights(c, 2, at::kFloat));
  at::NoGradGuard no_grad;
  EXPECT_FALSE(model.uses_fused_rms_norm()) << "auto on the CPU keeps the reference ops";
  const at::Tensor reference = model.forward(b.tokens, PackedRows{b.positions, b.segments, b.lengths});
  model.set_kernels({KernelOptions::Attention::kAuto, KernelOptions::RmsNorm::kFused});
  EXPECT_TRUE(model.uses_fused_rms_norm());
  const at::Tensor fused = model.forward(b.tokens, PackedRows{b.positions, b.segments, b.lengths});
  EXPECT_LE(test::max_abs_diff(reference, fused), 2e-5);
}

// Variable-length attention computed segment by segment (what flash_varlen does off CUDA) gives
// the masked path's logits and gradients in fp32: the token-major layout, the rotary tables and
// the segment lengths are right before any GPU runs the kernel. With activation checkpointing
// too, since checkpointed blocks keep the segments for their second forward; and with the
// fused SwiGLU and rotary loops (the CPU twins of the CUDA kernels).
TEST(KernelOptions, VarlenAttentionEqualsTheMaskedPathOnTheCpu) {
  for (auto [heads, kv] : {std::pair<int64_t, int64_t>{4, 4}, {4, 2}}) {
    for (bool checkpointing : {false, true}) {
      ModelConfig c = llama(heads, kv, 64);
      PackedBatch b = random_packed_rows(3, 40, 9);
      auto run = [&](KernelOptions::Attention attention, KernelOptions::Elementwise elementwise) {
        Transformer model(c, Transformer::random_weights(c, 5, at::kFloat));
        model.for_each_parameter([](const std::string&, at::Tensor& t) { t.requires_grad_(true); });
        model.set_activation_checkpointing(checkpointing);
        model.set_kernels({attention, KernelOptions::RmsNorm::kReference, elementwise});
        const at::Tensor logits = model.forward(b.tokens, PackedRows{b.positions, b.segments, b.lengths});
        logits.pow(2).mean().backward();
        std::vector<at::Tensor> out{logits.detach()};
        for (const auto& p : model.parameters()) out.push_back(p.grad());
        return out;
      };
      const auto masked = run(KernelOptions::Attention::kSdpaMask, KernelOptions::Elementwise::kReference);
      for (auto elementwise : {KernelOptions::Elementwise::kReference, KernelOptions::Elementwise::kFused}) {
        const auto varlen = run(KernelOptions::Attention::kFlashVarlen, elementwise);
        for (size_t i = 0; i < masked.size(); ++i)
          EXPECT_LE(test::max_abs_diff(varlen[i], masked[i]),
                    1e-5 * std::max(1.0, masked[i].abs().max().item<double>()))
              << (i == 0 ? "logits" : "gradient " + std::to_string(i - 1)) << ", heads " << heads << "/" << kv
              << (checkpointing ? ", checkpointing" : "")
              << (elementwise == KernelOptions::Elementwise::kFused ? ", fused SwiGLU and rotary" : "");
      }
    }
  }
  // The variable-length path reads the segment lengths it is given: the same total split
  // otherwise (row 0's first two segments as one) changes what attends to what.
  ModelConfig c = llama(4, 2, 64);
  PackedBatch b = random_packed_rows(2, 40, 9);
  ASSERT_GE(b.lengths.size(), 3u);
  std::vector<int32_t> merged = b.lengths;
  merged[0] += merged[1];
  merged.erase(merged.begin() + 1);
  Transformer model(c, Transformer::random_weights(c, 5, at::kFloat));
  model.set_kernels({KernelOptions::Attention::kFlashVarlen, KernelOptions::RmsNorm::kReference});
  at::NoGradGuard no_grad;
  const at::Tensor right = model.forward(b.tokens, PackedRows{b.positions, b.segments, b.lengths});
  const at::Tensor wrong = model.forward(b.tokens, PackedRows{b.positions, b.segments, merged});
  EXPECT_GT(test::max_abs_diff(right, wrong), 1e-3);
}

// Loss and every parameter's gradient on CUDA in bf16, fast kernels against reference ops.
void expect_cuda_kernels_match_reference(int64_t heads, int64_t kv_heads) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  ModelConfig c = llama(heads, kv_heads, 64 * heads);
  PackedBatch b = random_packed_rows(4, 512, 7);
  const c10::Device cuda("cuda");
  auto run = [&](KernelOptions kernels) {
    Transformer model(c, Transformer::random_weights(c, 3, at::kFloat));
    model.to(cuda, at::kBFloat16);
    model.for_each_parameter([](const std::string&, at::Tensor& t) { t.requires_grad_(true); });
    model.set_kernels(kernels);
    const at::Tensor logits =
        model.forward(b.tokens.to(cuda), PackedRows{b.positions.to(cuda), b.segments.to(cuda), b.lengths});
    const at::Tensor targets =
        at::randint(0, 300, {b.tokens.numel()}, at::TensorOptions().dtype(at::kLong).device(at::kCPU))
            .to(cuda);  // same draws: CPU generator
    at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, 300}).to(at::kFloat), targets);
    loss.backward();
    std::vector<at::Tensor> out{loss.detach().to(at::kCPU), logits.detach().to(at::kFloat).to(at::kCPU)};
    for (const auto& p : model.parameters()) out.push_back(p.grad().to(at::kFloat).to(at::kCPU));
    return out;
  };
  at::manual_seed(11);
  const auto reference = run({KernelOptions::Attention::kSdpaMask, KernelOptions::RmsNorm::kReference});
  at::manual_seed(11);
  const auto fast =
      run({KernelOptions::Attention::kFlashVarlen, KernelOptions::RmsNorm::kFused,
           fused_elementwise_compiled() ? KernelOptions::Elementwise::kFused : KernelOptions::Elementwise::kReference});
  EXPECT_NEAR(fast[0].item<double>(), reference[0].item<double>(), 2e-3 * std::abs(reference[0].item<double>()));
  EXPECT_LE(test::max_abs_diff(fast[1], reference[1]), 0.05 * reference[1].abs().max().item<double>());
  for (size_t i = 2; i < reference.size(); ++i) {
    const double scale = reference[i].abs().max().item<double>();
    const double rel =
        (fast[i] - reference[i]).norm().item<double>() / std::max(reference[i].norm().item<double>(), 1e-30);
    EXPECT_LE(rel, 0.03) << "gradient of parameter " << i - 2 << " (max |g| " << scale << ")";
  }
  std::printf("cuda kernels H=%lld K=%lld: loss reference %.6f fast %.6f\n", (long long)heads, (long long)kv_heads,
              reference[0].item<double>(), fast[0].item<double>());
}

// The element-wise kernels on their own, forward and backward, in fp32 (tight) and bf16.
void expect_fused_elementwise_match_reference(c10::Device device) {
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    // fp32: the same formula in another order of operations, a few ulps of values up to ~10;
    // bf16: a few ulps (2^-8 relative) of such values.
    const double tol = dtype == at::kFloat ? 1e-5 : 0.2;
    auto opts = at::TensorOptions().device(device).dtype(dtype);
    at::manual_seed(3);
    // Odd sizes: no dimension a multiple of the block size.
    at::Tensor g = at::randn({3, 37, 97}, opts).requires_grad_(true),
               u = at::randn({3, 37, 97}, opts).requires_grad_(true);
    at::Tensor dh = at::randn({3, 37, 97}, opts);
    at::Tensor ref = at::silu(g) * u;
    auto ref_grads = torch::autograd::grad({ref}, {g, u}, {dh});
    at::Tensor fused = fused_swiglu(g, u);
    auto fused_grads = torch::autograd::grad({fused}, {g, u}, {dh});
    EXPECT_LE(test::max_abs_diff(fused.to(at::kFloat), ref.to(at::kFloat)), tol) << c10::toString(dtype);
    for (int i = 0; i < 2; ++i)
      EXPECT_LE(test::max_abs_diff(fused_grads[i].to(at::kFloat), ref_grads[i].to(at::kFloat)), tol)
          << "swiglu grad " << i << " " << c10::toString(dtype);

    const int64_t B = 2, T = 29, H = 3, D = 16;
    at::Tensor positions = at::randint(0, 50, {B, T}, at::TensorOptions().dtype(at::kLong).device(device));
    ModelConfig c = llama(4, 2, 64);
    const RopeTables tables = rope_tables(rope_inverse_frequencies(c, device).narrow(0, 0, D / 2), positions, dtype);
    at::Tensor x = at::randn({B, T, H, D}, opts).requires_grad_(true);
    at::Tensor dy = at::randn({B, T, H, D}, opts);
    at::Tensor ref_rope = apply_rope(x, RopeTables{tables.cos_B1TD.transpose(1, 2), tables.sin_B1TD.transpose(1, 2)});
    at::Tensor ref_dx = torch::autograd::grad({ref_rope}, {x}, {dy})[0];
    at::Tensor fused_rope_out = fused_rope(x, tables.cos_B1TD.squeeze(1), tables.sin_B1TD.squeeze(1));
    at::Tensor fused_dx = torch::autograd::grad({fused_rope_out}, {x}, {dy})[0];
    EXPECT_LE(test::max_abs_diff(fused_rope_out.to(at::kFloat), ref_rope.to(at::kFloat)), tol) << "rope";
    EXPECT_LE(test::max_abs_diff(fused_dx.to(at::kFloat), ref_dx.to(at::kFloat)), tol) << "rope grad";
  }
}

// The chunked loss against the reference (fp32 logits of all rows, at::cross_entropy_loss):
// loss and both gradients, chunks of one row, several uneven ones, exactly all rows, more.
void expect_chunked_cross_entropy_matches_reference(c10::Device device) {
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    const double tol = dtype == at::kFloat ? 2e-6 : 2e-2;
    const auto opts = at::TensorOptions().device(device).dtype(dtype);
    at::manual_seed(5);
    const int64_t N = 37, C = 24, V = 301;
    const at::Tensor hidden = at::randn({N, C}, opts).requires_grad_(true);
    const at::Tensor weight = (at::randn({V, C}, opts) * 0.3).requires_grad_(true);
    const at::Tensor labels = at::randint(0, V, {N}, at::TensorOptions().device(device).dtype(at::kLong));
    const at::Tensor ref =
        at::cross_entropy_loss(at::linear(hidden, weight).to(at::kFloat), labels, {}, at::Reduction::Sum);
    const auto ref_grads = torch::autograd::grad({ref * 0.5}, {hidden, weight});
    for (int64_t chunk : {int64_t{1}, int64_t{5}, N, int64_t{100}}) {
      const at::Tensor loss = chunked_cross_entropy_sum(hidden, weight, labels, chunk);
      ASSERT_EQ(loss.scalar_type(), at::kFloat);
      const auto grads = torch::autograd::grad({loss * 0.5}, {hidden, weight});
      const std::string what = std::string(c10::toString(dtype)) + ", chunks of " + std::to_string(chunk);
      EXPECT_NEAR(loss.item<double>(), ref.item<double>(), tol * std::abs(ref.item<double>())) << what;
      for (int i = 0; i < 2; ++i) {
        const at::Tensor a = grads[i].to(at::kFloat), b = ref_grads[i].to(at::kFloat);
        EXPECT_LE(test::max_abs_diff(a, b), tol * b.abs().max().item<double>())
            << what << ": gradient of the " << (i == 0 ? "hidden states" : "projection");
      }
    }
  }
  EXPECT_THROW(chunked_cross_entropy_sum(at::zeros({3, 4}), at::zeros({5, 4}), at::zeros({2}, at::kLong), 2), Error);
  EXPECT_EQ(cross_entropy_chunk_rows(32000), 1048);
  EXPECT_EQ(cross_entropy_chunk_rows(1 << 20), 64);
}

TEST(KernelOptions, ChunkedCrossEntropyMatchesTheReferenceOnTheCpu) {
  expect_chunked_cross_entropy_matches_reference(c10::Device("cpu"));
}

TEST(CudaKernels, ChunkedCrossEntropyMatchesTheReference) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_chunked_cross_entropy_matches_reference(c10::Device("cuda"));
}

TEST(KernelOptions, FusedSwigluAndRopeLoopsMatchTheReferenceOpsOnTheCpu) {
  expect_fused_elementwise_match_reference(c10::Device("cpu"));
}

TEST(CudaKernels, FusedSwigluAndRopeMatchTheReferenceOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!fused_elementwise_compiled()) GTEST_SKIP() << "built without nvcc: no fused kernels";
  expect_fused_elementwise_match_reference(c10::Device("cuda"));
}

TEST(CudaKernels, VarlenFlashAndFusedNormMatchReferenceMultiHead) { expect_cuda_kernels_match_reference(4, 4); }
TEST(CudaKernels, VarlenFlashAndFusedNormMatchReferenceGroupedQuery) { expect_cuda_kernels_match_reference(8, 2); }

}  // namespace
}  // namespace symtune

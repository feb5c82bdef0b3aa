// Properties of the transformer that need no reference implementation: packed rows behave
// like separate sequences, the KV cache gives the full forward's logits, and activation
// checkpointing changes memory, not maths.
#include <gtest/gtest.h>

#include "model/transformer.h"
#include "test_support.h"

namespace symtune {
namespace {

ModelConfig config_for(const std::string& arch_json_extra) {
  return parse_model_config(R"({"vocab_size":50,"hidden_size":32,"intermediate_size":40,"num_hidden_layers":2,
    "num_attention_heads":4,"num_key_value_heads":2,"rms_norm_eps":1e-6)" +
                                arch_json_extra + "}",
                            "test config");
}

const char* kLlama = R"(,"architectures":["LlamaForCausalLM"])";
const char* kMistralWindow = R"(,"architectures":["MistralForCausalLM"],"sliding_window":4)";
const char* kGemma = R"(,"architectures":["GemmaForCausalLM"],"head_dim":12)";

class TransformerProperties : public ::testing::TestWithParam<const char*> {};

TEST_P(TransformerProperties, PackedRowEqualsExamplesRunSeparately) {
  ModelConfig c = config_for(GetParam());
  Transformer model(c, Transformer::random_weights(c, 11, at::kFloat));
  at::NoGradGuard no_grad;
  at::Tensor a = at::randint(3, 50, {1, 6}, at::kLong), b = at::randint(3, 50, {1, 5}, at::kLong);
  at::Tensor packed_tokens = at::cat({a, b, at::zeros({1, 1}, at::kLong)}, 1);  // one padding token
  at::Tensor positions = at::tensor({0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0}, at::kLong).unsqueeze(0);
  at::Tensor segments = at::tensor({0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2}, at::kLong).unsqueeze(0);
  at::Tensor packed = model.forward(packed_tokens, PackedRows{positions, segments});
  EXPECT_LE(test::max_abs_diff(packed.narrow(1, 0, 6), model.forward(a)), 1e-5);
  EXPECT_LE(test::max_abs_diff(packed.narrow(1, 6, 5), model.forward(b)), 1e-5);
}

TEST_P(TransformerProperties, CachedDecodingGivesTheFullForwardLogits) {
  ModelConfig c = config_for(GetParam());
  Transformer model(c, Transformer::random_weights(c, 12, at::kFloat));
  at::NoGradGuard no_grad;
  at::Tensor tokens = at::randint(3, 50, {2, 10}, at::kLong);
  at::Tensor full = model.forward(tokens);
  KVCache cache = model.make_cache(2, 10);
  at::Tensor prefix = model.forward_cached(tokens.narrow(1, 0, 4), cache);  // several tokens at once
  EXPECT_LE(test::max_abs_diff(prefix, full.narrow(1, 0, 4)), 1e-5);
  for (int64_t t = 4; t < 10; ++t) {
    at::Tensor step = model.forward_cached(tokens.narrow(1, t, 1), cache);
    EXPECT_LE(test::max_abs_diff(step, full.narrow(1, t, 1)), 1e-5) << "position " << t;
  }
}

TEST_P(TransformerProperties, ActivationCheckpointingKeepsLossAndGradients) {
  ModelConfig c = config_for(GetParam());
  at::Tensor tokens = at::randint(3, 50, {2, 9}, at::kLong);
  auto loss_and_grads = [&](bool checkpointing) {
    Transformer model(c, Transformer::random_weights(c, 13, at::kFloat));
    model.for_each_parameter([](const std::string&, at::Tensor& t) { t.requires_grad_(true); });
    model.set_activation_checkpointing(checkpointing);
    at::Tensor logits = model.forward(tokens.narrow(1, 0, 8));
    at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, 50}), tokens.narrow(1, 1, 8).reshape({-1}));
    loss.backward();
    std::vector<at::Tensor> grads;
    for (auto& p : model.parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(loss.item<double>(), grads);
  };
  auto [loss_plain, grads_plain] = loss_and_grads(false);
  auto [loss_ckpt, grads_ckpt] = loss_and_grads(true);
  EXPECT_EQ(loss_plain, loss_ckpt);
  ASSERT_EQ(grads_plain.size(), grads_ckpt.size());
  for (size_t i = 0; i < grads_plain.size(); ++i) {
    EXPECT_GT(grads_plain[i].abs().max().item<double>(), 0.0) << "parameter " << i << " got no gradient";
    EXPECT_LE(test::max_abs_diff(grads_plain[i], grads_ckpt[i]), 1e-7) << "parameter " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, TransformerProperties, ::testing::Values(kLlama, kMistralWindow, kGemma),
                         [](const auto& info) -> std::string {
                           return info.param == kLlama           ? "Llama"
                                  : info.param == kMistralWindow ? "MistralSlidingWindow"
                                                                 : "Gemma";
                         });

TEST(Transformer, SlidingWindowHidesKeysFurtherBack) {
  // With window 4, the logits at position 7 must not depend on token 0..3.
  ModelConfig c = config_for(kMistralWindow);
  Transformer model(c, Transformer::random_weights(c, 14, at::kFloat));
  at::NoGradGuard no_grad;
  at::Tensor x = at::randint(3, 50, {1, 8}, at::kLong);
  at::Tensor y = x.clone();
  y.narrow(1, 0, 1).fill_(x[0][0].item<int64_t>() == 7 ? 8 : 7);  // a different first token
  at::Tensor lx = model.forward(x), ly = model.forward(y);
  // Position 1 still sees token 0, and position 6 reaches it in two hops of 3 (which a window of
  // 3 would not allow); after two layers of window 4 position 7 cannot reach it.
  EXPECT_GT(test::max_abs_diff(lx.narrow(1, 1, 1), ly.narrow(1, 1, 1)), 1e-6);
  EXPECT_GT(test::max_abs_diff(lx.narrow(1, 6, 1), ly.narrow(1, 6, 1)), 1e-6);
  EXPECT_EQ(test::max_abs_diff(lx.narrow(1, 7, 1), ly.narrow(1, 7, 1)), 0.0);
}

}  // namespace
}  // namespace symtune

// HF model directories: export round trips, sharding, and a clear error for each kind of bad
// directory (missing/extra tensor, wrong shape, unknown architecture, missing tokenizer).
#include <gtest/gtest.h>

#include <tuple>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"
#include "data/tokenizer.h"
#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

ModelConfig tiny_config() {
  return parse_model_config(R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":40,
    "hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
    "rms_norm_eps":1e-5,"rope_theta":10000.0,"tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2})",
                            "tiny");
}

std::unique_ptr<Transformer> tiny_model() {
  ModelConfig c = tiny_config();
  return std::make_unique<Transformer>(c, Transformer::random_weights(c, 3, at::kFloat));
}

std::string load_error(const fs::path& dir) {
  try {
    load_pretrained(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Rewrites dir/model.safetensors through `edit`, which may add, drop or replace tensors.
void edit_weights(const fs::path& dir,
                  const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  auto f = SafetensorsFile::open(dir / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& e : f.entries()) tensors.emplace_back(e.name, f.load(e.name));
  edit(tensors);
  write_safetensors(dir / "model.safetensors", tensors);
}

TEST(Checkpoint, Fp32ExportLoadsBackBitIdentical) {
  test::ScratchDir dir;
  auto model = tiny_model();
  save_pretrained(*model, dir / "out");
  auto again = load_pretrained(dir / "out");
  auto a = model->parameters(), b = again->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i]));
  json cfg = json::parse(read_text_file(dir / "out" / "config.json"));
  EXPECT_EQ(cfg["dtype"], "float32");
  EXPECT_EQ(cfg["architectures"][0], "LlamaForCausalLM");
}

TEST(Checkpoint, Bf16ShardedExportHoldsRoundedWeightsAndAnIndex) {
  test::ScratchDir dir;
  auto model = tiny_model();
  SaveOptions save;
  save.dtype = at::kBFloat16;
  save.max_shard_bytes = 2000;
  save_pretrained(*model, dir / "out", save);
  ASSERT_TRUE(fs::exists(dir / "out" / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir / "out" / "model.safetensors"));
  int shards = 0;
  for (const auto& name : list_directory(dir / "out")) {
    if (name.rfind("model-", 0) != 0) continue;
    ++shards;
    for (const auto& e : SafetensorsFile::open(dir / "out" / name).entries())
      EXPECT_EQ(e.dtype, "BF16") << name << ": " << e.name;
  }
  EXPECT_GE(shards, 2);
  auto again = load_pretrained(dir / "out");
  auto a = model->parameters(), b = again->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i].to(at::kBFloat16).to(at::kFloat), b[i]));
}

TEST(Checkpoint, SaveRefusesToOverwriteAndLeavesNoPartialDirectory) {
  test::ScratchDir dir;
  auto model = tiny_model();
  fs::create_directories(dir / "out");
  write_text_file_atomically(dir / "out" / "keep.txt", "precious");
  EXPECT_THROW(save_pretrained(*model, dir / "out"), Error);
  EXPECT_EQ(read_text_file(dir / "out" / "keep.txt"), "precious");
  EXPECT_EQ(list_directory(dir.path()), std::vector<std::string>{"out"});
  EXPECT_EQ(list_directory(dir / "out"), std::vector<std::string>{"keep.txt"});
}

TEST(Checkpoint, MissingTensorIsNamed) {
  test::ScratchDir dir;
  save_pretrained(*tiny_model(), dir / "m");
  edit_weights(dir / "m", [](auto& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }),
            t.end());
  });
  const std::string err = load_error(dir / "m");
  EXPECT_NE(err.find("missing: model.layers.1.mlp.up_proj.weight"), std::string::npos) << err;
}

TEST(Checkpoint, UnexpectedTensorIsNamed) {
  test::ScratchDir dir;
  save_pretrained(*tiny_model(), dir / "m");
  edit_weights(dir / "m",
               [](auto& t) { t.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::zeros({2})); });
  const std::string err = load_error(dir / "m");
  EXPECT_NE(err.find("unexpected tensor(s)"), std::string::npos) << err;
  EXPECT_NE(err.find("model.layers.0.self_attn.rotary_emb.inv_freq"), std::string::npos) << err;
}

TEST(Checkpoint, ShapeMismatchNamesFileTensorAndBothShapes) {
  test::ScratchDir dir;
  save_pretrained(*tiny_model(), dir / "m");
  edit_weights(dir / "m", [](auto& t) {
    for (auto& [name, tensor] : t)
      if (name == "model.layers.0.self_attn.k_proj.weight") tensor = at::zeros({16, 16});
  });
  const std::string err = load_error(dir / "m");
  EXPECT_NE(err.find("model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [16, 16], but "
                     "config.json implies [8, 16]"),
            std::string::npos)
      << err;
}

TEST(Checkpoint, UnknownArchitectureAndUnsupportedOptionsAreRefusedByName) {
  EXPECT_THROW(
      {
        try {
          parse_model_config(R"({"architectures":["GPT2LMHeadModel"],"vocab_size":8})", "config.json");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("architecture 'GPT2LMHeadModel' is not supported"), std::string::npos);
          throw;
        }
      },
      Error);
  json base = json::parse(tiny_config().source_json);
  auto refused = [&](json patch, const std::string& expected) {
    json j = base;
    j.merge_patch(patch);
    try {
      parse_model_config(j.dump(), "config.json");
      ADD_FAILURE() << "accepted " << patch.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused({{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}}}, "rope type 'yarn' is not supported");
  refused({{"hidden_act", "relu"}}, "\"relu\" is not supported");
  refused({{"attention_dropout", 0.1}}, "attention_dropout");
  refused({{"num_key_value_heads", 3}}, "multiple of num_key_value_heads");
  refused({{"hidden_size", "wide"}}, "'hidden_size' must be an integer");
  refused({{"final_logit_softcapping", 30.0}}, "final_logit_softcapping");
  // Sizes no machine could hold are refused by key before any tensor exists.
  refused({{"hidden_size", 1000000000}}, "'hidden_size' must be in [1, 65536], found 1000000000");
  refused({{"num_hidden_layers", 1000000000}}, "'num_hidden_layers' must be in [1, 1024], found 1000000000");
  refused({{"vocab_size", int64_t(1) << 40}}, "'vocab_size' must be in [1, 16777216]");
  // A wrong JSON type anywhere names the key.
  refused({{"hidden_act", 5}}, "key 'hidden_act' must be a string, found 5");
  refused({{"model_type", json::array()}}, "key 'model_type' must be a string");
  refused({{"eos_token_id", {2, "end"}}}, "'eos_token_id' must be an integer or a list of integers");
  refused({{"architectures", {5}}}, "'architectures' must be a list of class names");
  refused({{"rope_scaling", {{"rope_type", 3}}}}, "key 'rope_type' must be a string, found 3");
}

// transformers 5 reads Gemma's activation from hidden_act; a 4.x config may carry only
// hidden_activation. Both present: hidden_act decides (the opposite choice changes every logit).
TEST(Checkpoint, GemmaActivationIsReadAsTransformers5ReadsIt) {
  const std::string base = R"({"architectures":["GemmaForCausalLM"],"vocab_size":8,"hidden_size":8,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"head_dim":4)";
  auto activation = [&](const std::string& keys) { return parse_model_config(base + keys + "}", "g").activation; };
  EXPECT_EQ(activation(R"(,"hidden_act":"silu","hidden_activation":"gelu_pytorch_tanh")"), Activation::kSilu);
  EXPECT_EQ(activation(R"(,"hidden_act":"gelu_pytorch_tanh","hidden_activation":"silu")"), Activation::kGeluTanh);
  EXPECT_EQ(activation(R"(,"hidden_activation":"silu")"), Activation::kSilu);
  EXPECT_EQ(activation(""), Activation::kGeluTanh);                         // GemmaConfig's default
  EXPECT_EQ(activation(R"(,"hidden_act":"gelu")"), Activation::kGeluTanh);  // the legacy name
}

// Qwen3: per-head q/k norms, head_dim apart from hidden_size / heads, attention_bias on all four
// projections; sliding windows only with use_sliding_window, on the layers from max_window_layers
// on, or on those layer_types names.
TEST(Checkpoint, Qwen3ConfigReadsItsNormsHeadWidthBiasAndWindows) {
  const std::string base = R"({"architectures":["Qwen3ForCausalLM"],"model_type":"qwen3","vocab_size":8,
    "hidden_size":8,"intermediate_size":8,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
    "head_dim":6)";
  const ModelConfig c = parse_model_config(base + R"(,"layer_types":["full_attention","full_attention"]})", "q3");
  EXPECT_EQ(c.architecture, Architecture::kQwen3);
  EXPECT_EQ(c.qk_norm, QkNorm::kPerHead);
  EXPECT_EQ(c.head_dim, 6);
  EXPECT_FALSE(c.qkv_bias);
  const ModelConfig biased = parse_model_config(base + R"(,"attention_bias":true})", "q3");
  EXPECT_TRUE(biased.qkv_bias && biased.o_bias);
  // Embeddings and head 2 x 8 x 8, per layer q 24x8, k and v 12x8 each, o 8x24, two norms of 8,
  // q/k norms of 6, MLP 3 x 8 x 8; final norm 8.
  EXPECT_EQ(c.num_parameters(), 2 * 64 + 2 * (192 + 96 + 96 + 192 + 16 + 12 + 192) + 8);
  // Windows switched off (as shipped): none, whatever sliding_window says; a sliding layer type
  // with windows off is refused (transformers rejects it for Qwen and masks it for SmolLM3).
  const ModelConfig off = parse_model_config(base + R"(,"sliding_window":5})", "q3");
  EXPECT_FALSE(off.window_of_layer(0) || off.window_of_layer(1));
  try {
    parse_model_config(base + R"(,"sliding_window":5,"layer_types":["full_attention","sliding_attention"]})", "q3");
    ADD_FAILURE() << "accepted a sliding layer with use_sliding_window false";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer_types[1] is \"sliding_attention\" but use_sliding_window is false"),
              std::string::npos)
        << e.what();
  }
  const ModelConfig derived =
      parse_model_config(base + R"(,"use_sliding_window":true,"sliding_window":5,"max_window_layers":1})", "q3");
  EXPECT_FALSE(derived.window_of_layer(0));
  EXPECT_EQ(derived.window_of_layer(1), 5);
  const ModelConfig listed = parse_model_config(
      base + R"(,"use_sliding_window":true,"sliding_window":3,"layer_types":["sliding_attention","full_attention"]})",
      "q3");
  EXPECT_EQ(listed.window_of_layer(0), 3);
  EXPECT_FALSE(listed.window_of_layer(1));
}

// A multimodal Gemma 3 checkpoint as transformers 5 lays it out: config.json with text_config
// (the keys it leaves out take Gemma3TextConfig's defaults), the language model under
// model.language_model., a vision tower beside it. The text tower loads with the causal LM's
// logits, exports as Gemma3ForCausalLM, and a config without text_config is named.
TEST(Checkpoint, MultimodalGemma3LoadsItsTextTower) {
  test::ScratchDir dir;
  const std::string text = R"({"vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,
    "num_attention_heads":2,"num_key_value_heads":1,"head_dim":8,"sliding_window":4,"query_pre_attn_scalar":8})";
  ModelConfig causal = parse_model_config(
      R"({"architectures":["Gemma3ForCausalLM"],"model_type":"gemma3_text",)" + text.substr(1), "causal");
  Transformer model(causal, Transformer::random_weights(causal, 5, at::kFloat));
  std::vector<std::pair<std::string, at::Tensor>> tensors{{"model.vision_tower.patch.weight", at::ones({2, 2})}};
  model.for_each_parameter([&](const std::string& name, at::Tensor& t) {
    tensors.emplace_back("model.language_model." + name.substr(6), t.detach());
  });
  fs::create_directories(dir / "mm");
  write_safetensors(dir / "mm" / "model.safetensors", tensors);
  const std::string mm = R"({"architectures":["Gemma3ForConditionalGeneration"],"model_type":"gemma3",
    "eos_token_id":[1,106],"vision_config":{"hidden_size":4},"text_config":)" +
                         text + "}";
  write_text_file_atomically(dir / "mm" / "config.json", mm);
  auto tower = load_pretrained(dir / "mm");
  EXPECT_TRUE(tower->config().multimodal_text_tower);
  EXPECT_EQ(tower->config().rope.theta, 1e6);                                // Gemma 3's default, not in text_config
  EXPECT_EQ(tower->config().bos_token_id, 2);                                // Gemma3TextConfig's default
  EXPECT_EQ(tower->config().eos_token_ids, (std::vector<int64_t>{1, 106}));  // the top level's
  EXPECT_TRUE(tower->config().tie_word_embeddings);                          // the top level's default
  const at::Tensor tokens = at::randint(3, 40, {2, 9}, at::kLong);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(tower->forward(tokens), model.forward(tokens)));
  save_pretrained(*tower, dir / "export");
  EXPECT_EQ(load_model_config(dir / "export" / "config.json").architecture, Architecture::kGemma3);
  EXPECT_TRUE(at::equal(load_pretrained(dir / "export")->forward(tokens), model.forward(tokens)));
  try {
    parse_model_config(R"({"architectures":["Gemma3ForConditionalGeneration"],"model_type":"gemma3"})", "mm");
    ADD_FAILURE() << "accepted a multimodal config without text_config";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs 'text_config'"), std::string::npos) << e.what();
  }
}

// One field each family cannot honour, refused with the key that asks for it.
TEST(Checkpoint, EveryFamilyRefusesWhatItCannotHonourByKey) {
  const std::string dims = R"("vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":2,
    "num_attention_heads":2,"head_dim":4,)";
  auto error_of = [&](const std::string& arch, const std::string& type, const std::string& keys) {
    try {
      parse_model_config(R"({"architectures":[")" + arch + R"("],"model_type":")" + type + "\"," + dims + keys + "}",
                         "config.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases{
      {"LlamaForCausalLM", "llama", R"("rope_scaling":{"rope_type":"yarn","factor":4.0})", "rope type 'yarn'"},
      {"MistralForCausalLM", "mistral", R"("attention_dropout":0.1)", "attention_dropout 0.1 is not supported"},
      {"Qwen2ForCausalLM", "qwen2", R"("use_sliding_window":true,"layer_types":["full_attention","chunked_attention"])",
       "layer_types[1] is \"chunked_attention\""},
      {"Qwen3ForCausalLM", "qwen3", R"("use_sliding_window":true,"sliding_window":0)",
       "'sliding_window' must be positive"},
      {"Phi3ForCausalLM", "phi3", R"("rope_scaling":{"type":"longrope","short_factor":[1.0],"long_factor":[1.0]})",
       "longrope 'short_factor' has 1 entries; the 4 rotary dims need 2"},
      {"Phi3ForCausalLM", "phi3", R"("partial_rotary_factor":0.3)",
       "partial_rotary_factor 0.300000 gives 1 rotary dims"},
      {"Phi3ForCausalLM", "phi3", R"("resid_pdrop":0.1)", "resid_pdrop 0.1 is not supported"},
      {"Gemma3ForCausalLM", "gemma3_text",
       R"("rope_parameters":{"sliding_attention":{"rope_type":"longrope","short_factor":[1],"long_factor":[1]}})",
       "not for Gemma3ForCausalLM's sliding_attention rope"},
      {"MistralForCausalLM", "mistral",
       R"("rope_scaling":{"type":"longrope","short_factor":[1.0],"long_factor":[1.0]})",
       "'longrope' is read for Phi3ForCausalLM only"},
      {"GemmaForCausalLM", "gemma", R"("use_bidirectional_attention":true)", "use_bidirectional_attention=true"},
      {"Gemma2ForCausalLM", "gemma2", R"("hidden_activation":"gelu")", "\"gelu\" is not supported"},
      {"Gemma3ForCausalLM", "gemma3_text", R"("rope_parameters":{"full_attention":{"rope_type":"yarn"}})",
       "(full_attention rope): rope type 'yarn'"},
      {"Olmo2ForCausalLM", "olmo2", R"("partial_rotary_factor":0.5)", "partial_rotary_factor"},
      {"SmolLM3ForCausalLM", "smollm3", R"("no_rope_layers":[1])",
       "'no_rope_layers' must list 0 or 1 for each of the 2"},
      {"LlamaForCausalLM", "llama", R"("rope_parameters":{"sliding_attention":{"rope_type":"default"}})",
       "per layer type is read for Gemma 3 only"},
      {"LlamaForCausalLM", "llama", R"("rope_scaling":{"full_attention":{"rope_type":"default"}})",
       "per layer type is read for Gemma 3 only"},
      {"Qwen3MoeForCausalLM", "qwen3_moe", R"("num_experts":8)",
       "architecture 'Qwen3MoeForCausalLM' is not supported"}};
  for (const auto& [arch, type, keys, expected] : cases) {
    const std::string err = error_of(arch, type, keys);
    EXPECT_NE(err.find(expected), std::string::npos) << arch << " with " << keys << ": " << err;
  }
}

TEST(Checkpoint, ConfigJsonOfBothTransformersGenerationsParsesTheSame) {
  const ModelConfig v4 = parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":8,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"rope_theta":500000.0,
    "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
    "original_max_position_embeddings":8192}})",
                                            "v4");
  const ModelConfig v5 = parse_model_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":8,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"rope_parameters":{"rope_type":"llama3",
    "rope_theta":500000.0,"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
    "original_max_position_embeddings":8192}})",
                                            "v5");
  EXPECT_EQ(v4.rope.type, "llama3");
  EXPECT_EQ(v5.rope.type, "llama3");
  for (const ModelConfig* c : {&v4, &v5}) {  // every field read, in both spellings
    EXPECT_EQ(c->rope.theta, 500000.0);
    EXPECT_EQ(c->rope.factor, 8.0);
    EXPECT_EQ(c->rope.low_freq_factor, 1.0);
    EXPECT_EQ(c->rope.high_freq_factor, 4.0);
    EXPECT_EQ(c->rope.original_max_position_embeddings, 8192);
  }
  EXPECT_EQ(v4.head_dim, 4);
  // Phi-3's longrope: 4.x writes rope_scaling {"type": "su"} beside a top-level
  // partial_rotary_factor; 5.x rope_parameters holding both. The top-level original length wins.
  const std::string phi_dims = R"("architectures":["Phi3ForCausalLM"],"vocab_size":8,"hidden_size":32,
    "intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":131072,
    "original_max_position_embeddings":4096,)";
  const ModelConfig phi4 = parse_model_config("{" + phi_dims + R"("partial_rotary_factor":0.75,
    "rope_scaling":{"type":"su","short_factor":[1,2,3,4,5,6],"long_factor":[2,3,4,5,6,7]}})",
                                              "phi v4");
  const ModelConfig phi5 = parse_model_config("{" + phi_dims + R"("rope_parameters":{"rope_type":"longrope",
    "rope_theta":10000.0,"partial_rotary_factor":0.75,"original_max_position_embeddings":4096,
    "short_factor":[1,2,3,4,5,6],"long_factor":[2,3,4,5,6,7]}})",
                                              "phi v5");
  for (const ModelConfig* c : {&phi4, &phi5}) {
    EXPECT_EQ(c->rope.type, "longrope");
    EXPECT_EQ(c->rotary_dims(), 12);  // int(16 x 0.75)
    EXPECT_EQ(c->rope.short_factor, (std::vector<double>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(c->rope.long_factor, (std::vector<double>{2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(c->rope.original_max_position_embeddings, 4096);
    // sqrt(1 + ln(131072 / 4096) / ln(4096)) = sqrt(1 + 5/12)
    EXPECT_NEAR(c->rope.attention_factor, std::sqrt(17.0 / 12.0), 1e-12);
    EXPECT_TRUE(c->fused_projections);
  }
}

TEST(Checkpoint, MissingTokenizerAndVocabMismatchAreClearErrors) {
  test::ScratchDir dir;
  save_pretrained(*tiny_model(), dir / "m");
  try {
    load_tokenizer(dir / "m", {}, 40);
    ADD_FAILURE() << "loaded a tokenizer from a directory without one";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer found"), std::string::npos) << e.what();
  }
  const fs::path sp = test::shared_data_dir() / "models" / "stories260K" / "tok512.model";
  SYMTUNE_REQUIRE(fs::exists(sp), "shared data: " << sp << " (the vocab mismatch half)");
  fs::copy_file(sp, dir / "m" / "tokenizer.model");
  try {
    load_tokenizer(dir / "m", {}, 40);
    ADD_FAILURE() << "accepted a 512-piece tokenizer for a 40-token model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("512 pieces but the model's vocab_size is 40"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, MissingDirectoryConfigOrShardAreClearErrors) {
  test::ScratchDir dir;
  EXPECT_NE(load_error(dir / "nowhere").find("model directory not found"), std::string::npos);
  fs::create_directories(dir / "empty");
  EXPECT_NE(load_error(dir / "empty").find("config.json"), std::string::npos);
  SaveOptions save;
  save.max_shard_bytes = 2000;
  save_pretrained(*tiny_model(), dir / "sharded", save);
  std::string victim;
  for (const auto& name : list_directory(dir / "sharded"))
    if (name.rfind("model-00002-of-", 0) == 0) victim = name;
  ASSERT_FALSE(victim.empty());
  fs::remove(dir / "sharded" / victim);
  const std::string err = load_error(dir / "sharded");
  EXPECT_NE(err.find("lists shard '" + victim + "', which does not exist"), std::string::npos) << err;
}

}  // namespace
}  // namespace symtune

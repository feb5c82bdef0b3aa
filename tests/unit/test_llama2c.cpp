// llama2.c import. A real pretrained model: stories260K, converted, must reproduce the
// documented greedy continuation token for token (shared/data/models/stories260K/README.md);
// the layout cases (untied heads, truncation, export round trip) run on checkpoints the tests
// write themselves.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "common/error.h"
#include "common/file_io.h"
#include "data/tokenizer.h"
#include "model/generate.h"
#include "model/hf_checkpoint.h"
#include "model/llama2c_import.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;

fs::path stories_dir() { return test::shared_data_dir() / "models" / "stories260K"; }

// A llama2.c legacy checkpoint made here (the tests below need no shared data): the 7-int32
// header, then normal(0, 0.1) floats in llama2.c's order, rotary tables included. A negative
// vocab_size marks an untied head, whose classifier follows at the end.
struct Llama2cShape {
  int32_t dim = 16, hidden = 24, layers = 2, heads = 4, kv_heads = 2, vocab = 40, seq_len = 8;
  bool tied = true;
  int64_t floats() const {
    const int64_t kv_dim = int64_t(kv_heads) * (dim / heads);
    return int64_t(vocab) * dim + int64_t(layers) * (2 * dim + 2 * dim * dim + 2 * dim * kv_dim + 3 * dim * hidden) +
           dim + int64_t(seq_len) * (dim / heads) + (tied ? 0 : int64_t(vocab) * dim);
  }
};

std::string llama2c_bytes(const Llama2cShape& s, uint64_t seed) {
  const int32_t header[7] = {s.dim, s.hidden, s.layers, s.heads, s.kv_heads, s.tied ? s.vocab : -s.vocab, s.seq_len};
  at::Tensor values = at::randn({s.floats()}, at::detail::createCPUGenerator(seed)) * 0.1;
  std::string bytes(sizeof(header) + values.numel() * sizeof(float), '\0');
  std::memcpy(bytes.data(), header, sizeof(header));
  std::memcpy(bytes.data() + sizeof(header), values.data_ptr<float>(), values.numel() * sizeof(float));
  return bytes;
}

TEST(Llama2cImport, Stories260KReproducesTheDocumentedGreedyText) {
  SYMTUNE_REQUIRE(fs::exists(stories_dir() / "stories260K.bin"), "shared data: " << stories_dir());
  auto model = import_llama2c(stories_dir() / "stories260K.bin");
  EXPECT_EQ(model->config().num_parameters(), 260032);
  auto tok = load_sentencepiece(stories_dir() / "tok512.model");
  std::vector<int64_t> prompt{1};
  for (int64_t id : tok->encode("Once upon a time")) prompt.push_back(id);
  EXPECT_EQ(prompt, (std::vector<int64_t>{1, 403, 407, 261, 378}));
  GenerateOptions greedy;
  greedy.max_new_tokens = 56;
  std::vector<int64_t> out = generate(*model, prompt, greedy);
  std::vector<int64_t> text(prompt.begin() + 1, prompt.end());
  text.insert(text.end(), out.begin(), out.end());
  EXPECT_EQ(tok->decode(text),
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she "
            "saw a big, red ball. She wanted to play with it, but it was too high");

  // Teacher-forced NLL of the 4 prompt tokens given BOS, as recorded in the README.
  at::NoGradGuard no_grad;
  at::Tensor ids = at::tensor(prompt, at::kLong).unsqueeze(0);
  at::Tensor logits = model->forward(ids.narrow(1, 0, 4));
  const double nll = at::cross_entropy_loss(logits.squeeze(0), ids.narrow(1, 1, 4).squeeze(0)).item<double>();
  EXPECT_NEAR(nll, 0.068522453904734, 1e-5);
}

TEST(Llama2cImport, ConvertedDirectoryLoadsWithIdenticalLogits) {
  test::ScratchDir dir;
  const Llama2cShape shape;
  test::write_bytes(dir / "tiny.bin", llama2c_bytes(shape, 3));
  auto model = import_llama2c(dir / "tiny.bin");
  EXPECT_EQ(model->config().num_layers, 2);
  EXPECT_EQ(model->config().num_kv_heads, 2);
  save_pretrained(*model, dir / "hf");
  auto loaded = load_pretrained(dir / "hf");
  at::NoGradGuard no_grad;
  at::Tensor ids = at::randint(0, shape.vocab, {2, 8}, at::kLong);
  const at::Tensor logits = model->forward(ids);
  EXPECT_TRUE(at::equal(logits, loaded->forward(ids)));
  EXPECT_GT(logits.abs().max().item<double>(), 1e-3);  // a model that computes something
}

TEST(Llama2cImport, SeparateClassifierIsReadWhenVocabSizeIsNegative) {
  // A checkpoint rewritten with a negative vocab_size and a classifier appended: llama2.c's
  // layout for untied heads. With the classifier equal to the embedding the logits must not
  // change; with a different one they must.
  test::ScratchDir dir;
  const Llama2cShape shape;
  const std::string bytes = llama2c_bytes(shape, 5);
  test::write_bytes(dir / "tied.bin", bytes);
  std::string untied = bytes;
  const int32_t negative = -shape.vocab;
  std::memcpy(untied.data() + 5 * 4, &negative, 4);
  const std::string embedding = bytes.substr(28, size_t(shape.vocab) * shape.dim * 4);
  test::write_bytes(dir / "same_head.bin", untied + embedding);
  std::string other = embedding;
  for (size_t i = 0; i < other.size(); i += 4) other[i + 3] = static_cast<char>(other[i + 3] ^ 0x01);  // perturb
  test::write_bytes(dir / "other_head.bin", untied + other);

  auto tied = import_llama2c(dir / "tied.bin");
  auto same = import_llama2c(dir / "same_head.bin");
  auto different = import_llama2c(dir / "other_head.bin");
  EXPECT_TRUE(tied->config().tie_word_embeddings);
  EXPECT_FALSE(same->config().tie_word_embeddings);
  at::NoGradGuard no_grad;
  at::Tensor ids = at::randint(0, shape.vocab, {1, 8}, at::kLong);
  EXPECT_TRUE(at::equal(tied->forward(ids), same->forward(ids)));
  EXPECT_FALSE(at::equal(tied->forward(ids), different->forward(ids)));
  test::write_bytes(dir / "missing_head.bin", untied);  // negative vocab but no classifier
  EXPECT_THROW(import_llama2c(dir / "missing_head.bin"), Error);
}

TEST(Llama2cImport, TruncatedOrForeignFilesAreRefused) {
  test::ScratchDir dir;
  const Llama2cShape shape;
  const std::string bytes = llama2c_bytes(shape, 7);
  test::write_bytes(dir / "cut.bin", bytes.substr(0, bytes.size() - 4));
  const std::string expected =
      std::to_string(bytes.size() - 4) + " bytes, but the header implies " + std::to_string(bytes.size());
  try {
    import_llama2c(dir / "cut.bin");
    ADD_FAILURE() << "accepted a truncated checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  test::write_bytes(dir / "text.bin", "this is not a checkpoint at all, just text");
  EXPECT_THROW(import_llama2c(dir / "text.bin"), Error);
}

}  // namespace
}  // namespace symtune

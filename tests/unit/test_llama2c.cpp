// A real pretrained model: llama2.c's stories260K, converted, must reproduce the documented
// greedy continuation token for token (shared/data/models/stories260K/README.md).
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

TEST(Llama2cImport, Stories260KReproducesTheDocumentedGreedyText) {
  if (!fs::exists(stories_dir() / "stories260K.bin")) GTEST_SKIP() << "shared data not found: " << stories_dir();
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
  if (!fs::exists(stories_dir() / "stories260K.bin")) GTEST_SKIP() << "shared data not found";
  test::ScratchDir dir;
  auto model = import_llama2c(stories_dir() / "stories260K.bin");
  save_pretrained(*model, dir / "hf");
  auto loaded = load_pretrained(dir / "hf");
  at::NoGradGuard no_grad;
  at::Tensor ids = at::randint(0, 512, {2, 20}, at::kLong);
  EXPECT_TRUE(at::equal(model->forward(ids), loaded->forward(ids)));
}

TEST(Llama2cImport, SeparateClassifierIsReadWhenVocabSizeIsNegative) {
  // Rewrite stories260K with a negative vocab_size and a classifier appended: llama2.c's
  // layout for untied heads. With the classifier equal to the embedding the logits must not
  // change; with a different one they must.
  if (!fs::exists(stories_dir() / "stories260K.bin")) GTEST_SKIP() << "shared data not found";
  test::ScratchDir dir;
  const std::string bytes = read_text_file(stories_dir() / "stories260K.bin");
  int32_t vocab = 0;
  std::memcpy(&vocab, bytes.data() + 5 * 4, 4);
  ASSERT_EQ(vocab, 512);
  const int32_t negative = -vocab;
  std::string untied = bytes;
  std::memcpy(untied.data() + 5 * 4, &negative, 4);
  const std::string embedding = bytes.substr(28, 512 * 64 * 4);
  test::write_bytes(dir / "same_head.bin", untied + embedding);
  std::string other = embedding;
  for (size_t i = 0; i < other.size(); i += 4) other[i + 3] = static_cast<char>(other[i + 3] ^ 0x01);  // perturb
  test::write_bytes(dir / "other_head.bin", untied + other);

  auto tied = import_llama2c(stories_dir() / "stories260K.bin");
  auto same = import_llama2c(dir / "same_head.bin");
  auto different = import_llama2c(dir / "other_head.bin");
  EXPECT_FALSE(same->config().tie_word_embeddings);
  at::NoGradGuard no_grad;
  at::Tensor ids = at::randint(0, 512, {1, 16}, at::kLong);
  EXPECT_TRUE(at::equal(tied->forward(ids), same->forward(ids)));
  EXPECT_FALSE(at::equal(tied->forward(ids), different->forward(ids)));
  test::write_bytes(dir / "missing_head.bin", untied);  // negative vocab but no classifier
  EXPECT_THROW(import_llama2c(dir / "missing_head.bin"), Error);
}

TEST(Llama2cImport, TruncatedOrForeignFilesAreRefused) {
  if (!fs::exists(stories_dir() / "stories260K.bin")) GTEST_SKIP() << "shared data not found";
  test::ScratchDir dir;
  const std::string bytes = read_text_file(stories_dir() / "stories260K.bin");
  test::write_bytes(dir / "cut.bin", bytes.substr(0, bytes.size() - 4));
  try {
    import_llama2c(dir / "cut.bin");
    ADD_FAILURE() << "accepted a truncated checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1056536 bytes, but the header implies 1056540"), std::string::npos)
        << e.what();
  }
  test::write_bytes(dir / "text.bin", "this is not a checkpoint at all, just text");
  EXPECT_THROW(import_llama2c(dir / "text.bin"), Error);
}

}  // namespace
}  // namespace symtune

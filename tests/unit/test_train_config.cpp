// The run configs as users meet them: every config shipped in configs/ loads through the
// trainer's own reader (data-only ones, for `symtune data`, through the data section's), so a
// parser change that refuses one of them fails here and not in a user's run; overrides reach
// the typed fields.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "data/data_config.h"
#include "test_support.h"
#include "trainer/train_config.h"

namespace symtune {
namespace {

namespace fs = std::filesystem;

// configs/ and its subfolders, listed with POSIX calls (common/file_io.h says why not
// std::filesystem's iterators).
std::vector<fs::path> shipped_configs() {
  std::vector<fs::path> files, folders{fs::path(SYMTUNE_SOURCE_DIR) / "configs"};
  while (!folders.empty()) {
    const fs::path folder = folders.back();
    folders.pop_back();
    for (const std::string& name : list_directory(folder)) {
      const fs::path path = folder / name;
      if (fs::is_directory(path)) folders.push_back(path);
      else if (path.extension() == ".json") files.push_back(path);
    }
  }
  return files;
}

TEST(TrainConfig, EveryShippedConfigLoads) {
  const std::vector<fs::path> files = shipped_configs();
  ASSERT_GE(files.size(), 10u) << "configs/ not found under " << SYMTUNE_SOURCE_DIR;
  for (const fs::path& file : files) {
    try {
      const nlohmann::json j = nlohmann::json::parse(read_text_file(file));
      if (!j.contains("model") && !j.contains("extends")) {
        EXPECT_GT(parse_data_config(j.at("data"), file.string() + ": data", file.parent_path()).rows_per_batch, 0);
        continue;
      }
      const TrainConfig c = load_train_config(file.string());
      EXPECT_GT(c.train.max_steps, 0) << file;
      EXPECT_GT(c.data.rows_per_batch, 0) << file;
    } catch (const Error& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
}

TEST(TrainConfig, OverridesReachTypedFieldsAndBadOnesAreNamed) {
  const std::string demo = (fs::path(SYMTUNE_SOURCE_DIR) / "configs" / "demo_synthetic.json").string();
  const TrainConfig c = load_train_config(demo, {"train.max_steps=7", "model.kernels.loss=chunked",
                                                 "model.kernels.loss_chunk_rows=64", "optimizer.beta1=0.9"});
  EXPECT_EQ(c.train.max_steps, 7);
  EXPECT_EQ(c.model.kernels.loss, KernelOptions::Loss::kChunked);
  EXPECT_EQ(c.model.kernels.loss_chunk_rows, 64);
  EXPECT_EQ(c.optimizer.beta1, std::optional<double>(0.9));
  auto error_of = [&](const std::string& assignment) {
    try {
      load_train_config(demo, {assignment});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("model.kernels.los=chunked").find("did you mean 'loss'"), std::string::npos);
  EXPECT_NE(error_of("model.kernels.loss_chunk_rows=-1").find("'loss_chunk_rows' must be in [0, 1073741824], found -1"),
            std::string::npos);
  // Every numeric field has a range: huge values are refused by key before anything is allocated.
  EXPECT_NE(error_of("data.rows_per_batch=1099511627776").find("data: 'rows_per_batch' must be in [1, 1048576]"),
            std::string::npos);
  EXPECT_NE(error_of("data.max_input_tokens=1000000000000000000").find("'max_input_tokens' must be in [8, 1048576]"),
            std::string::npos);
  EXPECT_NE(error_of("train.threads=-2").find("train: 'threads' must be in [0, 4096], found -2"), std::string::npos);
  EXPECT_NE(error_of("schedule.peak_lr=1e300").find("'peak_lr' must be in (0, 1000], found 1e+300"), std::string::npos);
  EXPECT_NE(error_of("schedule.peak_lr=1e400").find("--set 'schedule.peak_lr=1e400': the number does not fit a double"),
            std::string::npos);
  EXPECT_NE(error_of("model.dtype=float16").find("model.dtype: must be \"auto\""), std::string::npos);
  EXPECT_NE(error_of("model.device=gpu").find("model.device: must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\""),
            std::string::npos);
  EXPECT_NE(error_of("model.kernels.loss_chunk_rows=1.5").find("'loss_chunk_rows' must be an integer, found 1.5"),
            std::string::npos);
  EXPECT_NE(error_of("optimizer.beta1=\"high\"").find("'beta1' must be a number or null"), std::string::npos);
}

// The reference in docs/ is generated from the same tables the reader uses: every key the
// reader accepts is listed, and the checked-in page is the generated one.
TEST(TrainConfig, TheCheckedInReferenceIsTheGeneratedOne) {
  const std::string generated = config_reference_markdown();
  for (const char* key : {"`max_steps`", "`symbol_fraction`", "`clip_threshold`", "`loss_chunk_rows`",
                          "`heldout_integer_end`", "`peak_lr`", "`icl_exemplars_per_class`"})
    EXPECT_NE(generated.find(key), std::string::npos) << key;
  const fs::path page = fs::path(SYMTUNE_SOURCE_DIR) / "docs" / "config-reference.md";
  EXPECT_EQ(read_text_file(page), generated)
      << page << " is stale; regenerate it: build/symtune train --config-reference > docs/config-reference.md";
}

}  // namespace
}  // namespace symtune

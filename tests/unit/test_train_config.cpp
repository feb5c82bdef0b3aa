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
  auto error_of = [&](const std::string& assignment) {
    try {
      load_train_config(demo, {assignment});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("model.kernels.los=chunked").find("did you mean 'loss'"), std::string::npos);
  EXPECT_NE(error_of("model.kernels.loss_chunk_rows=-1").find("'loss_chunk_rows' must be >= 0"), std::string::npos);
  EXPECT_NE(error_of("model.kernels.loss_chunk_rows=1.5").find("'loss_chunk_rows' must be an integer, found 1.5"),
            std::string::npos);
  EXPECT_NE(error_of("optimizer.beta1=\"high\"").find("'beta1' must be a number or null"), std::string::npos);
}

}  // namespace
}  // namespace symtune

// Run outputs besides checkpoints: metrics.jsonl (one JSON object per logged step or
// evaluation, units in the key names), train.log (everything the console shows), and the
// console progress line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace symtune {

// Rank 0: console + <dir>/train.log. Other ranks: <dir>/train.rank<N>.log when `all_ranks`,
// else nothing. Returns the logger also installed as spdlog's default.
std::shared_ptr<spdlog::logger> make_run_logger(const std::filesystem::path& dir, int rank = 0, bool all_ranks = false);

// The scalars TensorBoard shows for a metrics record: every number and boolean but "step",
// tagged "train/<key>", or "eval/<key>" for evaluation records, nested objects as
// "eval/icl_accuracy/<task>"; null values (a skipped step's loss) left out.
std::vector<std::pair<std::string, double>> tensorboard_scalars(const nlohmann::json& record);

class MetricsFile {
 public:
  // Keeps lines with "step" <= keep_through_step (a resumed run replaces what the interrupted
  // one logged after its checkpoint), then appends.
  MetricsFile(const std::filesystem::path& path, int64_t keep_through_step);
  ~MetricsFile();
  void write(const nlohmann::json& record);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace symtune

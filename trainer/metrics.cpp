#include "trainer/metrics.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/file_io.h"

namespace symtune {
namespace fs = std::filesystem;

std::shared_ptr<spdlog::logger> make_run_logger(const fs::path& dir, int rank, bool all_ranks) {
  std::vector<spdlog::sink_ptr> sinks;
  if (rank == 0) {
    sinks.push_back(std::make_shared<spdlog::sinks::stdout_color_sink_mt>());
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>((dir / "train.log").string(), false));
  } else if (all_ranks) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(
        (dir / ("train.rank" + std::to_string(rank) + ".log")).string(), false));
  }
  auto logger = std::make_shared<spdlog::logger>("symtune", sinks.begin(), sinks.end());
  logger->set_pattern(rank == 0 ? "[%Y-%m-%d %H:%M:%S] %v"
                                : "[%Y-%m-%d %H:%M:%S] [rank " + std::to_string(rank) + "] %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return logger;
}

namespace {

void add_scalars(const std::string& prefix, const nlohmann::json& object,
                 std::vector<std::pair<std::string, double>>& out) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string tag = prefix + it.key();
    if (it.key() == "step" || it.key() == "kind") continue;
    if (it->is_number()) out.emplace_back(tag, it->get<double>());
    if (it->is_boolean()) out.emplace_back(tag, it->get<bool>() ? 1.0 : 0.0);
    if (it->is_object()) add_scalars(tag + "/", *it, out);
  }
}

}  // namespace

std::vector<std::pair<std::string, double>> tensorboard_scalars(const nlohmann::json& record) {
  std::vector<std::pair<std::string, double>> out;
  add_scalars(record.value("kind", "") == "eval" ? "eval/" : "train/", record, out);
  return out;
}

MetricsFile::MetricsFile(const fs::path& path, int64_t keep_through_step) : path_(path) {
  std::string kept;
  if (fs::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      try {
        auto j = nlohmann::json::parse(line);
        if (j.value("step", int64_t(0)) <= keep_through_step) kept += line + "\n";
      } catch (const nlohmann::json::exception&) {
        // A torn last line from a killed run: dropped.
      }
    }
  }
  write_text_file_atomically(path, kept);
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) throw Error(path.string() + ": cannot open for appending");
}

MetricsFile::~MetricsFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsFile::write(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  write_all(file_, line.data(), line.size(), path_);
  std::fflush(file_);
}

}  // namespace symtune

#include "cli/run_config.h"

#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"
#include "common/json_keys.h"
#include "model/model_config.h"

namespace symtune::cli {
namespace fs = std::filesystem;

nlohmann::json load_run_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  require_known_keys(j, {"model", "data", "optimizer", "schedule", "train", "eval"}, path);
  return j;
}

DataConfig data_config_from(const nlohmann::json& config, const std::string& path) {
  if (!config.contains("data")) throw Error(path + ": no 'data' section");
  return parse_data_config(config["data"], path + ": data", fs::absolute(path).parent_path());
}

std::shared_ptr<Tokenizer> tokenizer_from(const nlohmann::json& config, const DataConfig& data, const std::string& path) {
  if (!data.tokenizer.empty()) return load_tokenizer_spec(data.tokenizer);
  if (config.contains("model") && config["model"].is_object() && config["model"].contains("path")) {
    const std::string model_dir =
        resolve_path(config["model"]["path"].get<std::string>(), fs::absolute(path).parent_path(), path + ": model.path");
    const ModelConfig mc = load_model_config(fs::path(model_dir) / "config.json");
    SpecialTokenIds ids{mc.bos_token_id, mc.first_eos_token_id(), mc.pad_token_id};
    return load_tokenizer(model_dir, ids, mc.vocab_size);
  }
  throw Error(path + ": set data.tokenizer (a tokenizer.model) or model.path (a model directory)");
}

}  // namespace symtune::cli

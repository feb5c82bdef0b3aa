#include "cli/run_config.h"

#include <filesystem>
#include <optional>

#include "common/error.h"
#include "common/file_io.h"
#include "common/json_keys.h"
#include "model/model_config.h"
#include "trainer/train_config.h"

namespace symtune::cli {
namespace fs = std::filesystem;

nlohmann::json load_run_config(const std::string& path) { return read_run_config_json(path); }

DataConfig data_config_from(const nlohmann::json& config, const std::string& path) {
  if (!config.contains("data")) throw Error(path + ": no 'data' section");
  return parse_data_config(config["data"], path + ": data", fs::absolute(path).parent_path());
}

std::shared_ptr<Tokenizer> tokenizer_from(const nlohmann::json& config, const DataConfig& data,
                                          const std::string& path) {
  const nlohmann::json model =
      config.contains("model") && config["model"].is_object() ? config["model"] : nlohmann::json();
  std::string model_dir;
  std::optional<ModelConfig> mc;
  if (model.contains("path") && model["path"].is_string()) {
    model_dir = resolve_path(model["path"].get<std::string>(), fs::absolute(path).parent_path(), path + ": model.path");
    mc = load_model_config(fs::path(model_dir) / "config.json");
  } else if (model.contains("init_config") && model["init_config"].is_object()) {
    mc = parse_model_config(model["init_config"].dump(), path + ": model.init_config");
  }
  if (data.tokenizer.empty() && model_dir.empty())
    throw Error(path + ": set data.tokenizer (a tokenizer.model) or model.path (a model directory)");
  if (!mc) return load_tokenizer_spec(data.tokenizer);
  // As the trainer does: the model's special token ids override the tokenizer's, so the ids
  // here are the ones a run of this config trains on.
  const SpecialTokenIds ids{mc->bos_token_id, mc->first_eos_token_id(), mc->pad_token_id};
  return load_tokenizer_spec(data.tokenizer.empty() ? model_dir : data.tokenizer, ids, mc->vocab_size);
}

}  // namespace symtune::cli

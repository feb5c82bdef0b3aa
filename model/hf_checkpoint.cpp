#include "model/hf_checkpoint.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "model/safetensors.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string name_list(const std::vector<std::string>& names) {
  std::string s;
  const size_t shown = std::min<size_t>(names.size(), 12);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > shown) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

// The safetensors files of a checkpoint and which file holds which tensor.
struct WeightFiles {
  std::vector<SafetensorsFile> files;
  std::map<std::string, size_t> file_of_tensor;
};

WeightFiles open_weight_files(const fs::path& dir) {
  WeightFiles out;
  const fs::path index_path = dir / "model.safetensors.index.json";
  const fs::path single_path = dir / "model.safetensors";
  if (fs::exists(index_path)) {
    json index;
    try {
      index = json::parse(read_text_file(index_path));
    } catch (const json::exception& e) {
      throw Error(index_path.string() + ": not valid JSON: " + e.what());
    }
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      throw Error(index_path.string() + ": expected an object 'weight_map' {tensor: file}");
    std::map<std::string, std::string> wanted;
    std::map<std::string, size_t> file_slot;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      if (!it->is_string()) throw Error(index_path.string() + ": weight_map['" + it.key() + "'] must be a file name");
      const std::string file = it->get<std::string>();
      if (file.find('/') != std::string::npos || file == ".." || file.empty())
        throw Error(index_path.string() + ": weight_map['" + it.key() + "'] = '" + file +
                    "' must be a plain file name inside the model directory");
      wanted[it.key()] = file;
      if (!file_slot.count(file)) {
        file_slot[file] = out.files.size();
        if (!fs::exists(dir / file))
          throw Error(index_path.string() + ": lists shard '" + file + "', which does not exist in " + dir.string());
        out.files.push_back(SafetensorsFile::open(dir / file));
      }
    }
    for (const auto& [file, slot] : file_slot)
      for (const auto& e : out.files[slot].entries()) {
        auto it = wanted.find(e.name);
        if (it == wanted.end() || it->second != file)
          throw Error((dir / file).string() + ": holds tensor '" + e.name + "', which " + index_path.string() +
                      (it == wanted.end() ? " does not list" : " assigns to '" + it->second + "'"));
        out.file_of_tensor[e.name] = slot;
      }
    for (const auto& [name, file] : wanted)
      if (!out.file_of_tensor.count(name))
        throw Error(index_path.string() + ": tensor '" + name + "' is listed in shard '" + file +
                    "', which does not hold it");
  } else if (fs::exists(single_path)) {
    out.files.push_back(SafetensorsFile::open(single_path));
    for (const auto& e : out.files[0].entries()) out.file_of_tensor[e.name] = 0;
  } else {
    throw Error(dir.string() +
                ": no model.safetensors or model.safetensors.index.json (expected an HF model directory)");
  }
  return out;
}

// A slot's name in the checkpoint: itself, or in a multimodal Gemma 3 the language model's
// tensor as transformers 5 ("model.language_model.X", "lm_head.weight") or 4.x
// ("language_model.model.X", "language_model.lm_head.weight") names it, whichever is there.
std::string stored_tensor_name(const ModelConfig& config, const std::string& slot,
                               const std::map<std::string, size_t>& present) {
  if (!config.multimodal_text_tower) return slot;
  const bool in_model = slot.rfind("model.", 0) == 0;
  const std::string v5 = in_model ? "model.language_model." + slot.substr(6) : slot;
  const std::string v4 = "language_model." + slot;
  return present.count(v5) || !present.count(v4) ? v5 : v4;
}

// The multimodal checkpoint's tensors that the text tower does not read.
bool is_vision_tensor(const std::string& name) {
  for (const char* prefix :
       {"vision_tower.", "model.vision_tower.", "multi_modal_projector.", "model.multi_modal_projector."})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names{
      "tokenizer.model",        "tokenizer.json",         "tokenizer_config.json", "special_tokens_map.json",
      "generation_config.json", "symtune_tokenizer.json", "gguf_tokenizer.json"};
  return names;
}

std::unique_ptr<Transformer> load_pretrained(const fs::path& dir, const LoadOptions& options) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": model directory not found");
  ModelConfig config = load_model_config(dir / "config.json");
  WeightFiles weights = open_weight_files(dir);

  const std::vector<TensorSpec> specs = expected_tensors(config);
  std::vector<std::string> missing, unexpected;
  std::map<std::string, std::string> stored_name;  // slot name -> the checkpoint's name for it
  for (const auto& s : specs) {
    stored_name[s.name] = stored_tensor_name(config, s.name, weights.file_of_tensor);
    if (!weights.file_of_tensor.count(stored_name[s.name])) missing.push_back(stored_name[s.name]);
  }
  std::set<std::string> used;
  for (const auto& [slot, stored] : stored_name) used.insert(stored);
  for (const auto& [name, slot] : weights.file_of_tensor)
    if (!used.count(name) && !(config.multimodal_text_tower && is_vision_tensor(name))) unexpected.push_back(name);
  if (!missing.empty())
    throw Error(dir.string() + ": " + std::to_string(missing.size()) + " tensor(s) that config.json (" +
                config.architecture_name + ") requires are missing: " + name_list(missing));
  if (!unexpected.empty())
    throw Error(dir.string() + ": unexpected tensor(s) not used by " + config.architecture_name +
                " with this config: " + name_list(unexpected));

  TransformerWeights w;
  for (const WeightSlot& slot : weight_slots(config, w)) {
    throw_if_stop_requested(dir.string() + ": loading");
    const std::string& name = stored_name.at(slot.name);
    const SafetensorsFile& file = weights.files[weights.file_of_tensor.at(name)];
    const SafetensorsEntry* entry = file.find(name);
    if (entry->shape != slot.shape)
      throw Error(file.path().string() + ": tensor '" + name + "' has shape " + shape_text(entry->shape) +
                  ", but config.json implies " + shape_text(slot.shape));
    *slot.tensor = file.load(name).to(options.device, options.dtype).requires_grad_(options.requires_grad);
  }
  return std::make_unique<Transformer>(config, std::move(w));
}

void save_pretrained(Transformer& model, const fs::path& out_dir, const SaveOptions& options) {
  if (options.dtype != at::kFloat && options.dtype != at::kBFloat16)
    throw Error(out_dir.string() + ": export dtype must be float32 or bfloat16");
  if (fs::exists(out_dir) && !(fs::is_directory(out_dir) && directory_is_empty(out_dir)))
    throw Error(out_dir.string() + ": already exists and is not an empty directory; refusing to overwrite it");
  const fs::path parent = out_dir.has_parent_path() ? out_dir.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  const fs::path staging = parent / ("." + out_dir.filename().string() + ".partial." + std::to_string(::getpid()));
  remove_tree(staging);
  if (!fs::create_directory(staging, ec))
    throw Error(out_dir.string() + ": cannot create " + staging.string() + ": " + ec.message() +
                " (is the output directory writable?)");
  try {
    const std::string dtype_name = options.dtype == at::kFloat ? "float32" : "bfloat16";
    write_text_file_atomically(staging / "config.json", model_config_to_json(model.config(), dtype_name));

    std::vector<std::vector<std::pair<std::string, at::Tensor>>> shards(1);
    int64_t shard_bytes = 0;
    std::optional<Progress> progress;
    if (options.show_progress)
      progress.emplace("export " + out_dir.filename().string(), "tensors",
                       static_cast<int64_t>(expected_tensors(model.config()).size()));
    model.for_each_parameter([&](const std::string& name, at::Tensor& t) {
      if (options.stop_on_signal) throw_if_stop_requested(out_dir.string());
      if (progress) progress->advance();
      at::Tensor cpu = t.detach().to(at::kCPU, options.dtype);
      const int64_t bytes = cpu.numel() * cpu.element_size();
      if (options.max_shard_bytes > 0 && shard_bytes > 0 && shard_bytes + bytes > options.max_shard_bytes) {
        shards.emplace_back();
        shard_bytes = 0;
      }
      shards.back().emplace_back(name, cpu);
      shard_bytes += bytes;
    });
    const std::map<std::string, std::string> metadata{{"format", "pt"}};
    if (shards.size() == 1) {
      write_safetensors(staging / "model.safetensors", shards[0], metadata);
    } else {
      json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
      int64_t total = 0;
      for (size_t i = 0; i < shards.size(); ++i) {
        char file[64];
        std::snprintf(file, sizeof(file), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
        write_safetensors(staging / file, shards[i], metadata);
        for (const auto& [name, t] : shards[i]) {
          index["weight_map"][name] = file;
          total += t.numel() * t.element_size();
        }
      }
      index["metadata"]["total_size"] = total;
      write_text_file_atomically(staging / "model.safetensors.index.json", index.dump(2) + "\n");
    }
    if (!options.tokenizer_source_dir.empty())
      for (const std::string& name : tokenizer_file_names()) {
        const fs::path src = options.tokenizer_source_dir / name;
        if (fs::exists(src)) write_text_file_atomically(staging / name, read_text_file(src));
      }
    for (const auto& [name, content] : options.extra_files) write_text_file_atomically(staging / name, content);
    if (options.stop_on_signal) throw_if_stop_requested(out_dir.string());  // the last moment to back out
    if (fs::exists(out_dir)) fs::remove(out_dir);                           // empty, checked above
    fs::rename(staging, out_dir);
    fsync_directory(parent);
  } catch (const fs::filesystem_error& e) {
    remove_tree(staging);
    throw Error(out_dir.string() + ": " + e.what());
  } catch (...) {
    remove_tree(staging);
    throw;
  }
}

}  // namespace symtune

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
  } else if (fs::exists(dir.parent_path() / "manifest.json")) {
    throw Error(dir.string() + ": the model folder of a sharded checkpoint holds no weights; `symtune export " +
                "--checkpoint " + dir.parent_path().string() + " --out DIR` makes an HF model directory of it");
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

// The weights as one model.safetensors, or as shards of at most max_shard_bytes with their
// index; the sizes come from the specs, so tensors are fetched one at a time as they are written.
void write_weight_files(const ModelConfig& config, const std::function<at::Tensor(const TensorSpec&)>& fetch,
                        const fs::path& dir, const std::string& label, const SaveOptions& options) {
  const std::vector<TensorSpec> all = expected_tensors(config);
  std::vector<std::vector<const TensorSpec*>> shards(1);
  int64_t shard_bytes = 0, total = 0;
  for (const TensorSpec& spec : all) {
    int64_t bytes = static_cast<int64_t>(c10::elementSize(options.dtype));
    for (int64_t d : spec.shape) bytes *= d;
    if (options.max_shard_bytes > 0 && shard_bytes > 0 && shard_bytes + bytes > options.max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(&spec);
    shard_bytes += bytes;
    total += bytes;
  }
  std::optional<Progress> progress;
  if (options.show_progress) progress.emplace("export " + label, "tensors", static_cast<int64_t>(all.size()));
  const std::map<std::string, std::string> metadata{{"format", "pt"}};
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", json::object()}};
  for (size_t i = 0; i < shards.size(); ++i) {
    char file[64];
    if (shards.size() == 1) std::snprintf(file, sizeof(file), "model.safetensors");
    else std::snprintf(file, sizeof(file), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    std::vector<SafetensorsSpec> specs;
    for (const TensorSpec* t : shards[i]) {
      specs.push_back({t->name, options.dtype, t->shape});
      index["weight_map"][t->name] = file;
    }
    write_safetensors_streamed(
        dir / file, specs,
        [&](size_t k) {
          if (options.stop_on_signal) throw_if_stop_requested(dir.string());
          if (progress) progress->advance();
          return fetch(*shards[i][k]).detach().to(at::kCPU, options.dtype);
        },
        metadata);
  }
  if (shards.size() > 1) write_text_file_atomically(dir / "model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names{
      "tokenizer.model",        "tokenizer.json",         "tokenizer_config.json", "special_tokens_map.json",
      "generation_config.json", "symtune_tokenizer.json", "gguf_tokenizer.json"};
  return names;
}

struct PretrainedWeights::Impl {
  fs::path dir;
  ModelConfig config;
  WeightFiles weights;
  std::map<std::string, std::string> stored_name;  // slot name -> the checkpoint's name for it
};

PretrainedWeights::PretrainedWeights(const fs::path& dir) : impl_(std::make_shared<Impl>()) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": model directory not found");
  Impl& m = *impl_;
  m.dir = dir;
  m.config = load_model_config(dir / "config.json");
  m.weights = open_weight_files(dir);
  std::vector<std::string> missing, unexpected;
  for (const auto& s : expected_tensors(m.config)) {
    const std::string stored = stored_tensor_name(m.config, s.name, m.weights.file_of_tensor);
    m.stored_name[s.name] = stored;
    if (!m.weights.file_of_tensor.count(stored)) {
      missing.push_back(stored);
      continue;
    }
    const SafetensorsFile& file = m.weights.files[m.weights.file_of_tensor.at(stored)];
    if (file.find(stored)->shape != s.shape)
      throw Error(file.path().string() + ": tensor '" + stored + "' has shape " + shape_text(file.find(stored)->shape) +
                  ", but config.json implies " + shape_text(s.shape));
  }
  std::set<std::string> used;
  for (const auto& [slot, stored] : m.stored_name) used.insert(stored);
  for (const auto& [name, slot] : m.weights.file_of_tensor)
    if (!used.count(name) && !(m.config.multimodal_text_tower && is_vision_tensor(name))) unexpected.push_back(name);
  if (!missing.empty())
    throw Error(dir.string() + ": " + std::to_string(missing.size()) + " tensor(s) that config.json (" +
                m.config.architecture_name + ") requires are missing: " + name_list(missing));
  if (!unexpected.empty())
    throw Error(dir.string() + ": unexpected tensor(s) not used by " + m.config.architecture_name +
                " with this config: " + name_list(unexpected));
}

const ModelConfig& PretrainedWeights::config() const { return impl_->config; }

const SafetensorsFile& PretrainedWeights::file_of(const std::string& slot, std::string& stored) const {
  auto it = impl_->stored_name.find(slot);
  if (it == impl_->stored_name.end()) throw Error(impl_->dir.string() + ": the model has no tensor '" + slot + "'");
  stored = it->second;
  return impl_->weights.files[impl_->weights.file_of_tensor.at(stored)];
}

at::Tensor PretrainedWeights::read(const std::string& slot) const {
  std::string stored;
  const SafetensorsFile& file = file_of(slot, stored);
  return file.load(stored);
}

at::Tensor PretrainedWeights::read_range(const std::string& slot, int64_t begin, int64_t end) const {
  std::string stored;
  const SafetensorsFile& file = file_of(slot, stored);
  return file.load_range(stored, begin, end);
}

std::unique_ptr<Transformer> load_pretrained(const fs::path& dir, const LoadOptions& options) {
  const PretrainedWeights source(dir);
  TransformerWeights w;
  for (const WeightSlot& slot : weight_slots(source.config(), w)) {
    throw_if_stop_requested(dir.string() + ": loading");
    *slot.tensor = source.read(slot.name).to(options.device, options.dtype).requires_grad_(options.requires_grad);
  }
  return std::make_unique<Transformer>(source.config(), std::move(w));
}

void save_pretrained(Transformer& model, const fs::path& out_dir, const SaveOptions& options) {
  std::map<std::string, at::Tensor*> by_name;
  for (const WeightSlot& s : weight_slots(model.config(), model.weights())) by_name[s.name] = s.tensor;
  save_pretrained_streamed(
      model.config(), [&](const TensorSpec& spec) { return *by_name.at(spec.name); }, out_dir, options);
}

void save_pretrained_streamed(const ModelConfig& config, const std::function<at::Tensor(const TensorSpec&)>& fetch,
                              const fs::path& out_dir, const SaveOptions& options) {
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
    write_text_file_atomically(staging / "config.json", model_config_to_json(config, dtype_name));
    write_weight_files(config, fetch, staging, out_dir.filename().string(), options);
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

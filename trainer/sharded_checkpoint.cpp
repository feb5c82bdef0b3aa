#include "trainer/sharded_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "common/file_io.h"
#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "optim/adafactor_sharded.h"
#include "trainer/checkpoint.h"
#include "trainer/communicator.h"
#include "trainer/sharded_model.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kShardedFormatVersion = 1;

std::string rank_file(int64_t rank) {
  char name[48];
  std::snprintf(name, sizeof(name), "shards/rank_%05lld.safetensors", static_cast<long long>(rank));
  return name;
}

// Saturates at 2^62 instead of overflowing (a manifest's shapes are not trusted).
int64_t numel_of(const std::vector<int64_t>& shape) {
  constexpr int64_t kCap = int64_t(1) << 62;
  int64_t n = 1;
  for (int64_t d : shape) n = d != 0 && n > kCap / d ? kCap : n * d;
  return n;
}

// Every rank learns whether any failed; the first failure's text travels with rank 0's view.
// Tensors for collectives live on the weights' device (NCCL takes no CPU tensors).
void require_all_succeeded(Communicator& world, bool ok, const std::string& what, c10::Device device) {
  at::Tensor failed = at::full({1}, ok ? 0.0 : 1.0, at::TensorOptions().dtype(at::kFloat).device(device));
  world.all_reduce_sum(failed);
  const double count = failed.item<double>();
  if (count > 0)
    throw Error(what + ": " + std::to_string(static_cast<int>(count)) +
                " rank(s) could not write their part (the previous checkpoints are intact)");
}

// Rank 0 names the staging folder (its host and pid), the others learn it.
fs::path agree_on_staging(Communicator& world, const fs::path& proposed, c10::Device device) {
  constexpr int64_t kMax = 4096;
  at::Tensor buffer = at::zeros({kMax}, at::kByte);
  const std::string text = proposed.string();
  // Too long a path is an empty name for everyone: each rank then stops with the same error.
  if (world.rank() == 0 && static_cast<int64_t>(text.size()) < kMax)
    std::memcpy(buffer.data_ptr(), text.data(), text.size());
  std::vector<at::Tensor> tensors{buffer.to(device)};
  world.broadcast(tensors, 0);
  const at::Tensor received = tensors[0].cpu();
  return fs::path(std::string(reinterpret_cast<const char*>(received.data_ptr())));
}

json manifest_of(const ShardedSave& save, const ShardedModel& weights, const ShardedAdafactor& optimizer,
                 const Communicator& world, at::ScalarType dtype) {
  const ShardLayout& layout = weights.layout();
  auto pieces_of = [&](size_t k) {
    json pieces = json::array();
    for (int64_t r = 0; r < layout.shards(); ++r) {
      const TensorPiece p = layout.piece(k, r);
      if (p.size() > 0) pieces.push_back({r, p.begin, p.end});
    }
    return pieces;
  };
  json m = {{"format", "symtune-sharded"},
            {"format_version", kShardedFormatVersion},
            {"world_size", world.world_size()},
            {"shard_group_size", save.shard_group_size},
            {"dtype", dtype == at::kBFloat16 ? "bfloat16" : "float32"}};
  for (size_t k = 0; k < layout.tensors().size(); ++k)
    m["weights"][layout.tensors()[k].name] = {{"shape", layout.tensors()[k].shape}, {"pieces", pieces_of(k)}};
  m["optimizer"]["step"] = optimizer.steps_taken();
  m["optimizer"]["entries"] = json::object();
  for (const auto& e : optimizer.state()) {
    const auto& shape = layout.tensors()[e.param].shape;
    m["optimizer"]["entries"][e.key] =
        e.sharded ? json{{"shape", shape}, {"pieces", pieces_of(e.param)}}
                  : json{{"shape", e.tensor.sizes().vec()}, {"pieces", json::array({{0, 0, e.tensor.numel()}})}};
  }
  return m;
}

// This rank's file: its weight pieces, its pieces of the sharded state, and on rank 0 the whole
// factored statistics.
void write_rank_file(const fs::path& path, const ShardedModel& weights, const ShardedAdafactor& optimizer,
                     int64_t rank) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  const ShardLayout& layout = weights.layout();
  for (size_t k = 0; k < layout.tensors().size(); ++k)
    if (layout.piece(k, rank).size() > 0) tensors.emplace_back(layout.tensors()[k].name, weights.piece(k).detach());
  for (const auto& e : optimizer.state())
    if ((e.sharded && e.tensor.numel() > 0) || (!e.sharded && rank == 0)) tensors.emplace_back(e.key, e.tensor);
  write_safetensors(path, tensors, {{"format", "symtune-sharded"}});
}

}  // namespace

fs::path save_sharded_checkpoint(const ShardedSave& save, const ModelConfig& config, const ShardedModel& weights,
                                 const ShardedAdafactor& optimizer, Communicator& world) {
  const fs::path& dir = *save.checkpoints_dir;
  const fs::path final_dir = dir / checkpoint_step_name(save.step);
  const at::ScalarType dtype = weights.shards()[0].scalar_type();
  const c10::Device device = weights.shards()[0].device();
  world.barrier();  // every rank has finished the step being saved
  fs::path staging;
  bool ok = true;
  std::string error;
  if (world.rank() == 0) {
    try {
      fs::create_directories(dir);
      remove_stale_partials(dir);
      staging = dir / (checkpoint_step_name(save.step) + checkpoint_partial_suffix());
      fs::create_directories(staging / "shards");
      fs::create_directories(staging / "model");
      write_text_file_atomically(staging / "model" / "config.json",
                                 model_config_to_json(config, dtype == at::kBFloat16 ? "bfloat16" : "float32"));
      for (const std::string& name : tokenizer_file_names())
        if (fs::exists(*save.tokenizer_dir / name))
          write_text_file_atomically(staging / "model" / name, read_text_file(*save.tokenizer_dir / name));
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
      staging.clear();
    }
  }
  staging = agree_on_staging(world, staging, device);
  if (staging.empty())
    throw Error(final_dir.string() + ": checkpoint not written" + (error.empty() ? "" : ": " + error) +
                " (the previous checkpoints are intact)");
  if (world.rank() < save.shard_group_size) {  // the first shard group holds one whole copy
    try {
      write_rank_file(staging / rank_file(world.rank()), weights, optimizer, world.rank());
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
  }
  if (!ok) std::fprintf(stderr, "rank %d: %s\n", world.rank(), error.c_str());
  try {
    require_all_succeeded(world, ok, final_dir.string(), device);
  } catch (const Error&) {
    if (world.rank() == 0) remove_tree(staging);
    throw;
  }
  ok = true;
  if (world.rank() == 0) {
    try {
      const json manifest = manifest_of(save, weights, optimizer, world, dtype);
      write_text_file_atomically(staging / "manifest.json", manifest.dump(1) + "\n");
      publish_checkpoint(dir, staging, save.step, *save.trainer_state, save.keep_last);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank 0: %s\n", e.what());
      remove_tree(staging);
      ok = false;
    }
  }
  require_all_succeeded(world, ok, final_dir.string(), device);  // nobody runs ahead of an unfinished checkpoint
  return final_dir;
}

// ---- reading ------------------------------------------------------------------------------

struct CheckpointReader::Impl {
  fs::path dir;
  bool sharded = false;
  json manifest;
  mutable std::map<int64_t, SafetensorsFile> rank_files;
  std::unique_ptr<PretrainedWeights> pretrained;            // unsharded: model/
  mutable std::unique_ptr<SafetensorsFile> optimizer_file;  // unsharded: optimizer.safetensors, opened when asked
  int64_t manifest_step = 0;

  // Not opened up front: exporting a checkpoint needs only its weights.
  const SafetensorsFile& optimizer() const {
    if (!optimizer_file)
      optimizer_file = std::make_unique<SafetensorsFile>(SafetensorsFile::open(dir / "optimizer.safetensors"));
    return *optimizer_file;
  }

  const json& entry(const char* section, const std::string& name) const {
    const json& table = std::string(section) == "weights" ? manifest["weights"] : manifest["optimizer"]["entries"];
    auto it = table.find(name);
    if (it == table.end())
      throw Error((dir / "manifest.json").string() + ": no " +
                  (std::string(section) == "weights" ? "weight" : "optimizer state") + " '" + name +
                  "' (was the model or the optimizer configuration changed since this checkpoint?)");
    return *it;
  }
  const SafetensorsFile& file(int64_t rank) const {
    auto it = rank_files.find(rank);
    if (it == rank_files.end()) it = rank_files.emplace(rank, SafetensorsFile::open(dir / rank_file(rank))).first;
    return it->second;
  }
  // [begin, end) of `name` assembled from the pieces that cover it.
  at::Tensor assemble(const json& e, const std::string& name, int64_t begin, int64_t end) const {
    at::Tensor out;
    int64_t covered = 0;
    for (const json& piece : e.at("pieces")) {
      const int64_t rank = piece.at(0), pb = piece.at(1), pe = piece.at(2);
      const int64_t lo = std::max(begin, pb), hi = std::min(end, pe);
      if (hi <= lo) continue;
      at::Tensor part = file(rank).load_range(name, lo - pb, hi - pb);
      if (!out.defined()) out = at::empty({end - begin}, part.options());
      out.narrow(0, lo - begin, hi - lo).copy_(part);
      covered += hi - lo;
    }
    if (covered != end - begin)
      throw Error((dir / "manifest.json").string() + ": the pieces of '" + name + "' do not cover elements [" +
                  std::to_string(begin) + ", " + std::to_string(end) + ")");
    return out.defined() ? out : at::empty({0});
  }
};

CheckpointReader::CheckpointReader(const fs::path& checkpoint) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.dir = checkpoint;
  read_trainer_state(checkpoint);  // the marker and the format version
  m.sharded = fs::exists(checkpoint / "manifest.json");
  if (!m.sharded) {
    m.pretrained = std::make_unique<PretrainedWeights>(checkpoint / "model");
    return;
  }
  const fs::path path = checkpoint / "manifest.json";
  try {
    m.manifest = json::parse(read_text_file(path));
    if (m.manifest.value("format", "") != "symtune-sharded" ||
        m.manifest.value("format_version", 0) != kShardedFormatVersion)
      throw Error("format " + m.manifest.value("format", json()).dump() + " version " +
                  m.manifest.value("format_version", json()).dump() + ", this symtune reads symtune-sharded " +
                  std::to_string(kShardedFormatVersion));
    m.manifest_step = m.manifest.at("optimizer").at("step").get<int64_t>();
    if (m.manifest_step < 0) throw Error("optimizer step " + std::to_string(m.manifest_step));
    for (const char* section : {"weights", "optimizer"}) {
      const json& table =
          std::string(section) == "weights" ? m.manifest.at("weights") : m.manifest["optimizer"].at("entries");
      for (auto it = table.begin(); it != table.end(); ++it) {
        const auto shape = it->at("shape").get<std::vector<int64_t>>();
        for (int64_t d : shape)
          if (d < 0 || d > (int64_t(1) << 40))
            throw Error("'" + it.key() + "' has a dimension of " + std::to_string(d));
        if (shape.size() > 8) throw Error("'" + it.key() + "' has rank " + std::to_string(shape.size()));
        const int64_t numel = numel_of(shape);
        if (numel > (int64_t(1) << 48)) throw Error("'" + it.key() + "' is too large");
        for (const json& piece : it->at("pieces"))
          if (!piece.is_array() || piece.size() != 3 || piece[1].get<int64_t>() < 0 ||
              piece[2].get<int64_t>() < piece[1].get<int64_t>() || piece[2].get<int64_t>() > numel ||
              piece[0].get<int64_t>() < 0)
            throw Error("'" + it.key() + "' has a piece outside its " + std::to_string(numel) +
                        " elements: " + piece.dump());
      }
    }
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not a valid manifest: " + e.what());
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

CheckpointReader::~CheckpointReader() = default;
bool CheckpointReader::sharded() const { return impl_->sharded; }
const fs::path& CheckpointReader::path() const { return impl_->dir; }
int64_t CheckpointReader::optimizer_step() const {
  if (impl_->sharded) return impl_->manifest_step;
  const SafetensorsFile& file = impl_->optimizer();
  auto it = file.metadata().find("step");
  const std::string text = it == file.metadata().end() ? "" : it->second;
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Error(file.path().string() + ": metadata 'step' must be a step count, found '" + text + "'");
  return std::stoll(text);
}

std::vector<int64_t> CheckpointReader::weight_shape(const std::string& name) const {
  if (!impl_->sharded) {
    for (const TensorSpec& t : expected_tensors(impl_->pretrained->config()))
      if (t.name == name) return t.shape;
    throw Error(impl_->dir.string() + ": has no parameter '" + name +
                "' (was the model configuration changed since this checkpoint?)");
  }
  return impl_->entry("weights", name).at("shape").get<std::vector<int64_t>>();
}

at::Tensor CheckpointReader::read_weight(const std::string& name, int64_t begin, int64_t end) const {
  if (!impl_->sharded) return impl_->pretrained->read_range(name, begin, end);
  return impl_->assemble(impl_->entry("weights", name), name, begin, end);
}

bool CheckpointReader::has_state(const std::string& key) const {
  if (!impl_->sharded) return impl_->optimizer().find(key) != nullptr;
  return impl_->manifest["optimizer"]["entries"].contains(key);
}

std::vector<int64_t> CheckpointReader::state_shape(const std::string& key) const {
  if (!impl_->sharded) {
    const SafetensorsEntry* e = impl_->optimizer().find(key);
    if (e == nullptr) throw Error(impl_->optimizer().path().string() + ": no optimizer state '" + key + "'");
    return e->shape;
  }
  return impl_->entry("optimizer", key).at("shape").get<std::vector<int64_t>>();
}

at::Tensor CheckpointReader::read_state(const std::string& key, int64_t begin, int64_t end) const {
  if (!impl_->sharded) return impl_->optimizer().load_range(key, begin, end);
  return impl_->assemble(impl_->entry("optimizer", key), key, begin, end);
}

std::vector<std::string> CheckpointReader::state_keys() const {
  std::vector<std::string> keys;
  if (!impl_->sharded) {
    for (const auto& e : impl_->optimizer().entries()) keys.push_back(e.name);
  } else {
    for (auto it = impl_->manifest["optimizer"]["entries"].begin(); it != impl_->manifest["optimizer"]["entries"].end();
         ++it)
      keys.push_back(it.key());
  }
  return keys;
}

void restore_sharded(const CheckpointReader& reader, ShardedModel& weights, ShardedAdafactor& optimizer) {
  const ShardLayout& layout = weights.layout();
  const std::string hint = " (was the model configuration changed since this checkpoint?)";
  for (const ShardedTensor& t : layout.tensors())
    if (reader.weight_shape(t.name) != t.shape)
      throw Error(reader.path().string() + ": parameter '" + t.name + "' has shape " +
                  c10::str(at::IntArrayRef(reader.weight_shape(t.name))) + ", the configured model's is " +
                  c10::str(at::IntArrayRef(t.shape)) + hint);
  weights.fill([&](size_t k, int64_t b, int64_t e) { return reader.read_weight(layout.tensors()[k].name, b, e); });
  const auto entries = optimizer.state();
  if (reader.state_keys().size() != entries.size())
    throw Error(reader.path().string() + ": " + std::to_string(reader.state_keys().size()) +
                " optimizer state entries, this optimizer has " + std::to_string(entries.size()) +
                " (beta1 or factoring changed since the checkpoint?)");
  at::NoGradGuard no_grad;
  for (const auto& e : entries) {
    if (!reader.has_state(e.key))
      throw Error(reader.path().string() + ": optimizer state '" + e.key +
                  "' is missing (was the model or the optimizer configuration changed since the checkpoint?)");
    const auto shape = reader.state_shape(e.key);
    const ShardedParameter& p = optimizer.parameters()[e.param];
    const bool fits = e.sharded ? shape == p.shape : numel_of(shape) == e.tensor.numel();
    if (!fits)
      throw Error(reader.path().string() + ": optimizer state '" + e.key + "' has shape " +
                  c10::str(at::IntArrayRef(shape)) + ", which does not match this optimizer's");
    at::Tensor dst = e.tensor;
    if (e.sharded) dst.copy_(reader.read_state(e.key, p.begin, p.end));
    else dst.copy_(reader.read_state(e.key, 0, e.tensor.numel()).view(e.tensor.sizes()));
  }
  optimizer.set_steps_taken(reader.optimizer_step());
}

}  // namespace symtune

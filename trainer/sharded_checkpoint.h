// Checkpoints of sharded runs, and reading any checkpoint a range at a time.
// A sharded checkpoint, checkpoints/step_00000123/, holds
//   manifest.json                 format, world size, shard group size, dtype, and for every
//                                 weight and optimizer state entry its shape and pieces
//                                 (file, first and last element + 1, flat row-major)
//   shards/rank_00003.safetensors the pieces one rank of the first shard group holds, 1-D:
//                                 weights "<name>", sharded state "<name>.exp_avg_sq" and
//                                 "<name>.exp_avg"; rank 0's also holds the whole factored
//                                 statistics ("<name>.exp_avg_sq_row" / "_col")
//   model/                        config.json and the tokenizer files (no weights)
//   trainer_state.json, COMPLETE  as in trainer/checkpoint.h
// Every rank writes its own file into rank 0's staging folder; once all have (a barrier), rank
// 0 writes the manifest, the state and the marker and renames the folder into place. A rank
// killed mid-write stops the others at the barrier, leaving the previous checkpoint newest.
// Resuming reads each rank's new ranges out of the old pieces, so any world size or shard
// group size resumes any checkpoint, sharded or not.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace symtune {

class Communicator;
class ShardedModel;
class ShardedAdafactor;
struct ModelConfig;

struct ShardedSave {
  const std::filesystem::path* checkpoints_dir;
  int64_t step;
  const nlohmann::json* trainer_state;
  const std::filesystem::path* tokenizer_dir;
  int64_t keep_last;
  int64_t shard_group_size;  // the world size with full sharding
};

// Every rank calls it; returns the final directory (on every rank).
std::filesystem::path save_sharded_checkpoint(const ShardedSave& save, const ModelConfig& config,
                                              const ShardedModel& weights, const ShardedAdafactor& optimizer,
                                              Communicator& world);

// A checkpoint's weights and optimizer state by name, read as flat ranges: a sharded one from
// its pieces, an unsharded one from model/ and optimizer.safetensors. Shapes are checked
// against what the caller expects, naming the tensor.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::filesystem::path& checkpoint);
  ~CheckpointReader();
  bool sharded() const;
  const std::filesystem::path& path() const;
  std::vector<int64_t> weight_shape(const std::string& name) const;  // throws when absent
  at::Tensor read_weight(const std::string& name, int64_t begin, int64_t end) const;
  bool has_state(const std::string& key) const;
  std::vector<int64_t> state_shape(const std::string& key) const;
  at::Tensor read_state(const std::string& key, int64_t begin, int64_t end) const;
  std::vector<std::string> state_keys() const;
  int64_t optimizer_step() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Fills a sharded run's weights and optimizer state from any checkpoint.
void restore_sharded(const CheckpointReader& reader, ShardedModel& weights, ShardedAdafactor& optimizer);

}  // namespace symtune

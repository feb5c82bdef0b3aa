// Sharded data parallelism in the trainer (train.sharding full or hybrid): the process groups,
// the sharded weights (trainer/sharded_model.h) and optimizer (optim/adafactor_sharded.h), and
// what a step does with them. The collectives of one step, for a model of P parameters in U
// units on shard groups of G ranks (sizes per rank; ring volumes in the README):
//   forward   U all-gathers of a unit (its P/U elements, weights' dtype)
//   backward  U - 1 all-gathers again (blocks; none under reshard_after_forward false or
//             activation checkpointing's first pass, whose recomputation gathers instead) and
//             U reduce-scatters of a unit's fp32 gradient, per micro-batch
//   hybrid    one all-reduce of the P/G fp32 gradient shard across the groups
//   clip      one all-reduce of 1 float (the squared gradient norm of the shards)
//   Adafactor one all-reduce of sum(rows + cols) + #tensors floats, one of #tensors floats
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "trainer/train_config.h"

namespace symtune {

class Communicator;
class Transformer;
class ShardedModel;
class ShardedAdafactor;
class CheckpointReader;
struct ModelConfig;
struct LaunchEnv;

// The shard group size a config asks for on `world` ranks (local_world_size ranks per node):
// all of them with full, shard_group_size (0 = a node) with hybrid; throws when it does not
// divide the world.
int64_t shard_group_size_for(const TrainSection& train, int64_t world_size, int64_t local_world_size);

class ShardedTraining {
 public:
  ShardedTraining(const TrainConfig& config, Communicator& world, const ModelConfig& model, c10::Device device,
                  at::ScalarType dtype);
  ~ShardedTraining();

  std::unique_ptr<Transformer> release_model();  // the trainer owns the model; this keeps feeding it
  ShardedModel& weights() { return *weights_; }
  int64_t group_size() const { return group_size_; }

  // Each rank reads only its ranges of the pretrained files; a model initialised from its config
  // draws the unsharded run's weights (deterministic in the seed) one tensor at a time and keeps
  // its ranges.
  void load_weights(const TrainConfig& config);
  void make_optimizer(const AdafactorOptions& options);
  void set_activation_checkpointing(bool on);

  // After the last micro-batch's backward: gradients summed across the replica groups (hybrid).
  void finish_gradients();
  at::Tensor clip_grad_norm(double max_norm);  // global norm over all shards
  double optimizer_step(std::optional<double> lr);
  void zero_grad();

  std::filesystem::path save(const std::filesystem::path& checkpoints_dir, int64_t step,
                             const nlohmann::json& trainer_state, const std::filesystem::path& tokenizer_dir,
                             int64_t keep_last);
  void restore(const CheckpointReader& reader);

  // Bytes this rank holds of weights, gradients and optimizer state; the largest unit gathered.
  int64_t held_bytes() const;
  int64_t largest_gathered_bytes() const;
  std::string describe() const;  // for the log
  // Bytes this rank moved in the shard and replica groups' collectives since the last reset.
  double traffic_bytes() const;
  void reset_traffic();

 private:
  std::vector<at::Tensor> gradient_pieces() const;

  Communicator& world_;
  int64_t group_size_;
  std::unique_ptr<Communicator> owned_shard_group_, replica_group_;
  Communicator* shard_group_ = nullptr;  // the world with full sharding
  std::unique_ptr<ShardedModel> weights_;
  std::unique_ptr<Transformer> model_;
  Transformer* model_view_ = nullptr;
  std::unique_ptr<ShardedAdafactor> optimizer_;
  const ModelConfig* config_ = nullptr;
};

}  // namespace symtune

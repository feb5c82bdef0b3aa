#include "trainer/sharded_training.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cstdio>
#include <map>

#include "common/error.h"
#include "model/hf_checkpoint.h"
#include "model/transformer.h"
#include "optim/adafactor_sharded.h"
#include "trainer/communicator.h"
#include "trainer/sharded_checkpoint.h"
#include "trainer/sharded_model.h"

namespace symtune {

int64_t shard_group_size_for(const TrainSection& train, int64_t world_size, int64_t local_world_size) {
  if (train.sharding == TrainSection::Sharding::kNone) return 1;
  if (train.sharding == TrainSection::Sharding::kFull) return world_size;
  const int64_t g = train.shard_group_size > 0 ? train.shard_group_size : local_world_size;
  if (g < 1 || world_size % g != 0)
    throw Error("train.shard_group_size: " + std::to_string(g) +
                (train.shard_group_size > 0 ? "" : " (a node's ranks)") + " does not divide the " +
                std::to_string(world_size) + " ranks into shard groups");
  return g;
}

namespace {
std::vector<int> members_of_shard_group(int64_t rank, int64_t g) {
  std::vector<int> out;
  for (int64_t r = rank / g * g; r < (rank / g + 1) * g; ++r) out.push_back(static_cast<int>(r));
  return out;
}
std::vector<int> members_of_replica_group(int64_t rank, int64_t g, int64_t world) {
  std::vector<int> out;
  for (int64_t r = rank % g; r < world; r += g) out.push_back(static_cast<int>(r));
  return out;
}
}  // namespace

ShardedTraining::ShardedTraining(const TrainConfig& config, Communicator& world, const ModelConfig& model,
                                 c10::Device device, at::ScalarType dtype)
    : world_(world), group_size_(shard_group_size_for(config.train, world.world_size(), world.env().local_world_size)) {
  const int64_t rank = world.rank(), n = world.world_size();
  // Full sharding's group is the world itself (no second communicator); hybrid's are subgroups.
  if (group_size_ < n)
    owned_shard_group_ =
        world.subgroup("shard" + std::to_string(rank / group_size_), members_of_shard_group(rank, group_size_));
  shard_group_ = owned_shard_group_ ? owned_shard_group_.get() : &world;
  if (n > group_size_)
    replica_group_ =
        world.subgroup("replica" + std::to_string(rank % group_size_), members_of_replica_group(rank, group_size_, n));
  weights_ = std::make_unique<ShardedModel>(ShardLayout(model, group_size_), *shard_group_, device, dtype);
  weights_->set_prefetch(config.train.prefetch_gather);
  weights_->set_reshard_after_forward(config.train.reshard_after_forward);
  model_ = std::make_unique<Transformer>(model, device, dtype, weights_.get());
  model_view_ = model_.get();
  weights_->attach(*model_);
  config_ = &model_->config();
}

ShardedTraining::~ShardedTraining() = default;

std::unique_ptr<Transformer> ShardedTraining::release_model() { return std::move(model_); }

void ShardedTraining::load_weights(const TrainConfig& config) {
  const ShardLayout& layout = weights_->layout();
  if (!config.model.path.empty()) {
    const PretrainedWeights source(config.model.path);
    weights_->fill([&](size_t k, int64_t b, int64_t e) { return source.read_range(layout.tensors()[k].name, b, e); });
    return;
  }
  // The draws of an unsharded run, one tensor at a time; each rank keeps its range of each.
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < layout.tensors().size(); ++k) index[layout.tensors()[k].name] = k;
  at::NoGradGuard no_grad;
  draw_random_weights(*config_, config.model.init_seed, [&](const WeightSlot& slot, const at::Tensor& t) {
    const size_t k = index.at(slot.name);
    const TensorPiece p = layout.piece(k, weights_->rank());
    if (p.size() > 0) weights_->piece(k).copy_(t.reshape({-1}).narrow(0, p.begin, p.size()));
  });
}

void ShardedTraining::make_optimizer(const AdafactorOptions& options) {
  std::vector<ShardedParameter> params;
  const ShardLayout& layout = weights_->layout();
  for (size_t k = 0; k < layout.tensors().size(); ++k) {
    const TensorPiece p = layout.piece(k, weights_->rank());
    params.push_back({layout.tensors()[k].name, layout.tensors()[k].shape, p.begin, p.end, weights_->piece(k)});
  }
  optimizer_ = std::make_unique<ShardedAdafactor>(std::move(params), options);
}

void ShardedTraining::set_activation_checkpointing(bool on) {
  model_view_->set_activation_checkpointing(on);
  // A checkpointed block keeps no gathered weights from its first forward; its recomputation,
  // followed at once by its backward, must not free and gather them again.
  if (on) weights_->set_reshard_after_forward(false);
}

void ShardedTraining::finish_gradients() {
  if (!replica_group_) return;
  at::NoGradGuard no_grad;
  // Unit by unit, so at most one unit's fp32 copy exists beside the gradients.
  for (at::Tensor& s : weights_->shards()) {
    if (!s.grad().defined()) s.mutable_grad() = at::zeros_like(s);
    at::Tensor g = s.grad().to(at::kFloat);
    replica_group_->all_reduce_sum(g);
    if (!g.is_same(s.grad())) s.mutable_grad().copy_(g);
  }
}

at::Tensor ShardedTraining::clip_grad_norm(double max_norm) {
  at::NoGradGuard no_grad;
  at::Tensor squares = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(weights_->shards()[0].device()));
  for (const at::Tensor& s : weights_->shards())
    if (s.grad().defined()) squares += at::square(s.grad().to(at::kFloat)).sum();
  shard_group_->all_reduce_sum(squares);
  const at::Tensor total = squares.sqrt()[0];
  if (max_norm > 0) {
    at::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    coef = at::where(total.isfinite(), coef, at::ones_like(coef));
    for (at::Tensor& s : weights_->shards())
      if (s.grad().defined()) s.mutable_grad().mul_(coef);
  }
  return total;
}

std::vector<at::Tensor> ShardedTraining::gradient_pieces() const {
  std::vector<at::Tensor> out;
  for (size_t k = 0; k < weights_->layout().tensors().size(); ++k) out.push_back(weights_->grad_piece(k));
  return out;
}

double ShardedTraining::optimizer_step(std::optional<double> lr) {
  return optimizer_->step(gradient_pieces(), lr, [&](at::Tensor& t) { shard_group_->all_reduce_sum(t); });
}

void ShardedTraining::zero_grad() {
  for (at::Tensor& s : weights_->shards()) s.mutable_grad().reset();
}

std::filesystem::path ShardedTraining::save(const std::filesystem::path& checkpoints_dir, int64_t step,
                                            const nlohmann::json& trainer_state,
                                            const std::filesystem::path& tokenizer_dir, int64_t keep_last) {
  const ShardedSave save{&checkpoints_dir, step, &trainer_state, &tokenizer_dir, keep_last, group_size_};
  return save_sharded_checkpoint(save, *config_, *weights_, *optimizer_, world_);
}

void ShardedTraining::restore(const CheckpointReader& reader) { restore_sharded(reader, *weights_, *optimizer_); }

int64_t ShardedTraining::held_bytes() const {
  int64_t bytes = optimizer_ ? optimizer_->state_bytes() : 0;
  for (const at::Tensor& s : weights_->shards()) bytes += 2 * s.numel() * s.element_size();  // weights and gradients
  return bytes;
}

int64_t ShardedTraining::largest_gathered_bytes() const {
  return weights_->layout().largest_unit_elements() * static_cast<int64_t>(weights_->shards()[0].element_size());
}

double ShardedTraining::traffic_bytes() const {
  double bytes = 0;
  // With full sharding the group is the world, whose traffic the trainer counts itself.
  for (const Communicator* c : {owned_shard_group_.get(), replica_group_.get()})
    if (c)
      for (double b : c->traffic_bytes()) bytes += b;
  return bytes;
}

void ShardedTraining::reset_traffic() {
  if (owned_shard_group_) owned_shard_group_->reset_traffic();
  if (replica_group_) replica_group_->reset_traffic();
}

std::string ShardedTraining::describe() const {
  char text[320];
  const int64_t groups = world_.world_size() / group_size_;
  std::snprintf(text, sizeof(text),
                "%lld rank(s) per shard group, %lld group(s); this rank holds %lld bytes (%.1f MiB) of weights, "
                "gradients and optimizer state; largest unit gathered whole %lld bytes",
                static_cast<long long>(group_size_), static_cast<long long>(groups),
                static_cast<long long>(held_bytes()), static_cast<double>(held_bytes()) / (1 << 20),
                static_cast<long long>(largest_gathered_bytes()));
  return text;
}

}  // namespace symtune

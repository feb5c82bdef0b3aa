#include "trainer/shard_layout.h"

#include <algorithm>

#include "common/error.h"
#include "model/weights.h"

namespace symtune {

ShardLayout::ShardLayout(const ModelConfig& config, int64_t shards) : shards_(shards) {
  if (shards < 1) throw Error("sharding: " + std::to_string(shards) + " shards");
  TransformerWeights scratch;  // only for the slots' names, shapes and layers
  const std::vector<WeightSlot> slots = weight_slots(config, scratch);
  units_.resize(static_cast<size_t>(config.num_layers) + 1);
  for (const WeightSlot& s : slots) {
    ShardedTensor t;
    t.name = s.name;
    t.shape = s.shape;
    t.numel = 1;
    for (int64_t d : s.shape) t.numel *= d;
    t.unit = s.layer + 1;
    ShardUnit& unit = units_[t.unit];
    t.offset = unit.numel;
    unit.numel += t.numel;
    unit.tensors.push_back(tensors_.size());
    tensors_.push_back(std::move(t));
  }
  for (ShardUnit& u : units_) u.shard_numel = (u.numel + shards_ - 1) / shards_;
}

TensorPiece ShardLayout::piece(size_t tensor, int64_t rank) const {
  const ShardedTensor& t = tensors_.at(tensor);
  const int64_t L = units_[t.unit].shard_numel;
  const int64_t lo = std::max(t.offset, rank * L), hi = std::min(t.offset + t.numel, (rank + 1) * L);
  if (hi <= lo) return {0, 0, 0};
  return {lo - t.offset, hi - t.offset, lo - rank * L};
}

int64_t ShardLayout::shard_elements() const {
  int64_t n = 0;
  for (const ShardUnit& u : units_) n += u.shard_numel;
  return n;
}

int64_t ShardLayout::largest_unit_elements() const {
  int64_t n = 0;
  for (const ShardUnit& u : units_) n = std::max(n, u.shard_numel * shards_);
  return n;
}

}  // namespace symtune

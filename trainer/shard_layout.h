// How sharded data parallelism (train.sharding) splits a model over the ranks of a shard group.
// The tensors are grouped in units: unit 0 holds the embedding, the final norm and the head
// (used at both ends of the forward), unit 1 + i the tensors of block i. A unit's tensors are
// laid end to end in weight_slots() order as one flat array, padded to a multiple of the group
// size N, and rank r holds elements [r L, (r + 1) L) of it, L = ceil(numel / N). So one
// all-gather of [L] per rank rebuilds a unit, one reduce-scatter returns its gradient, and a
// rank's piece of a tensor is one flat range of it (rows may be cut anywhere; the sharded
// optimizer handles partial rows, optim/adafactor_sharded.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace symtune {

struct ShardedTensor {
  std::string name;  // weight_slots() name
  std::vector<int64_t> shape;
  int64_t numel = 0;
  int64_t unit = 0;
  int64_t offset = 0;  // of its first element in the unit's flat array
};

struct ShardUnit {
  std::vector<size_t> tensors;  // indices into ShardLayout::tensors, in order
  int64_t numel = 0;            // without padding
  int64_t shard_numel = 0;      // L = ceil(numel / N)
};

// A rank's piece of one tensor: the tensor's elements [begin, end), which sit at
// shard_offset in the rank's shard of the tensor's unit. Empty when begin == end.
struct TensorPiece {
  int64_t begin = 0, end = 0, shard_offset = 0;
  int64_t size() const { return end - begin; }
};

class ShardLayout {
 public:
  ShardLayout(const ModelConfig& config, int64_t shards);

  int64_t shards() const { return shards_; }
  const std::vector<ShardedTensor>& tensors() const { return tensors_; }
  const std::vector<ShardUnit>& units() const { return units_; }
  TensorPiece piece(size_t tensor, int64_t rank) const;

  // Elements a rank holds (padding included), and the largest unit gathered whole.
  int64_t shard_elements() const;
  int64_t largest_unit_elements() const;

 private:
  int64_t shards_;
  std::vector<ShardedTensor> tensors_;
  std::vector<ShardUnit> units_;
};

}  // namespace symtune

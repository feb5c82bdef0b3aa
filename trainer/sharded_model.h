// The weights of a sharded run (train.sharding full or hybrid): each rank keeps its shard of
// every unit (trainer/shard_layout.h) as one flat leaf tensor that the optimizer updates, and
// feeds the transformer a unit's full tensors only while it runs (model/weight_gatherer.h):
//   forward   all-gather a block's shards just before it runs (the next block's all-gather
//             already started while this one computes), drop the full tensors after it;
//   backward  all-gather again before the block's backward (or keep them, with
//             reshard_after_forward off), and reduce-scatter the block's gradients into the
//             shards' .grad as soon as its backward is done.
// Under activation checkpointing a block's forward records nothing, so its recomputation in
// backward gathers again by itself. The unit of the embedding, final norm and head stays whole
// from the start of a forward to the end of its backward (it is used at both ends).
// Gradients travel in fp32 whatever the weights' dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "model/weight_gatherer.h"
#include "trainer/shard_layout.h"

namespace symtune {

class Communicator;
class Transformer;

class ShardedModel : public WeightGatherer {
 public:
  // `group`: the ranks that share the shards (the whole world, or a node's ranks in hybrid).
  ShardedModel(ShardLayout layout, Communicator& group, c10::Device device, at::ScalarType dtype);
  ~ShardedModel() override;

  // The model to feed: the slots its gathered tensors go into. Call once, before a forward.
  void attach(Transformer& model);
  const ShardLayout& layout() const { return layout_; }
  int64_t rank() const;

  // Fills every shard from read(tensor, begin, end): elements [begin, end) of tensor `tensor`,
  // flat, any dtype (a pretrained file's range, a checkpoint's, or a slice of fresh weights).
  void fill(const std::function<at::Tensor(size_t tensor, int64_t begin, int64_t end)>& read);

  std::vector<at::Tensor>& shards() { return shards_; }  // one leaf [L] per unit
  const std::vector<at::Tensor>& shards() const { return shards_; }
  at::Tensor piece(size_t tensor) const;       // this rank's piece of a tensor: a view of its shard
  at::Tensor grad_piece(size_t tensor) const;  // the same of the shard's .grad (undefined before backward)

  // Off: gathered blocks stay whole until their backward (more memory, no second gather).
  // Under activation checkpointing it must be off (ShardedTraining sees to it): the first forward
  // keeps nothing, and freeing in the recomputation would only gather the block a third time.
  void set_reshard_after_forward(bool on) { reshard_after_forward_ = on; }
  void set_prefetch(bool on) { prefetch_ = on; }

  void gather_outer() override;
  void release_outer() override;
  void gather_block(int64_t layer) override;
  at::Tensor after_block(int64_t layer, const at::Tensor& output) override;
  std::vector<at::Tensor> block_leaves(int64_t layer) override;

  // For the autograd node of a gather (sharded_model.cpp).
  std::vector<at::Tensor> gather_unit(int64_t unit);
  at::Tensor reduce_scatter_unit(int64_t unit, const std::vector<at::Tensor>& full_grads);

 private:
  struct Prefetch;
  at::Tensor fetch_flat(int64_t unit);  // the unit's [N L] all-gathered, prefetched or now
  void prefetch(int64_t unit);
  void drain_prefetch();
  void assign(int64_t unit, const std::vector<at::Tensor>& full);
  void refill(int64_t unit, const std::vector<at::Tensor>& released);  // before a block's backward

  ShardLayout layout_;
  Communicator& group_;
  c10::Device device_;
  at::ScalarType dtype_;
  std::vector<at::Tensor> shards_;
  std::vector<at::Tensor*> slots_;   // per layout tensor: the model's member it fills
  std::vector<at::Tensor> current_;  // the block being run: its gathered tensors
  std::unique_ptr<Prefetch> pending_;
  bool reshard_after_forward_ = true, prefetch_ = true, outer_gathered_ = false;
  int64_t last_block_ = -1;
};

}  // namespace symtune

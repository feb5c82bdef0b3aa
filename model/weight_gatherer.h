// Where a transformer's weights come from when each process holds only a slice of them
// (sharded data parallelism, trainer/sharded_model.h): the model asks for a layer's full
// tensors just before the layer runs and hands them back right after, so that at any moment
// only the layers running (and the one being fetched ahead) exist whole.
// Must not include data/ or trainer/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace symtune {

// A gatherer fills the weights of the one model it was made for (its TransformerWeights
// members), which hold undefined tensors at rest.
class WeightGatherer {
 public:
  virtual ~WeightGatherer() = default;
  // The embedding, the final norm and the head; they stay until release_outer. A forward that
  // records gradients gathers anew (each forward's graph routes its own gradients back);
  // without gradients, weights already there are reused.
  virtual void gather_outer() = 0;
  virtual void release_outer() = 0;
  // Block `layer`'s tensors before it runs. after_block drops the model's references once it
  // has run; `output` comes back (possibly carrying a hook that fetches the weights again
  // before the block's backward).
  virtual void gather_block(int64_t layer) = 0;
  virtual at::Tensor after_block(int64_t layer, const at::Tensor& output) = 0;
  // The leaves a checkpointed block's recomputation must route gradients to.
  virtual std::vector<at::Tensor> block_leaves(int64_t layer) = 0;
};

}  // namespace symtune

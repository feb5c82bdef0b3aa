// The decoder-only transformer of the Llama family (Llama, Mistral, Qwen2, Qwen3, Gemma as HF
// transformers defines them): RMSNorm, rotary positions, grouped-query attention through
// at::scaled_dot_product_attention, gated MLP (SwiGLU or GeGLU), tied or untied head.
// Weights are plain tensors named as in HF checkpoints; no torch::nn modules, so the
// parameter list, its order and its names are ours and stable.
// Must not include data/ or trainer/.
//
// Shape legend: B batch, T tokens in a row, S cached tokens, C hidden size, H query heads,
// K key/value heads, D head dim, F MLP width, V vocabulary.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/kernel_options.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace symtune {
class WeightGatherer;
}

namespace symtune {

// Several examples packed into one row: each token attends only to earlier tokens of its
// own segment, and rotary positions restart at 0 for each example.
struct PackedRows {
  at::Tensor position_ids_BT;  // int64
  at::Tensor segment_ids_BT;   // int64; equal ids = same example (padding: its own id)
  // Optional, from the host: the lengths of the runs of equal segment ids, row after row
  // (model/varlen_attention.h). With them CUDA can skip the dense mask.
  std::vector<int32_t> segment_lengths;
};

// Keys and values of past tokens for incremental decoding.
struct KVCache {
  std::vector<at::Tensor> keys_BKSD, values_BKSD;  // one per layer, preallocated to capacity
  int64_t length = 0;                              // tokens filled so far
  int64_t capacity() const { return keys_BKSD.empty() ? 0 : keys_BKSD[0].size(2); }
  // Rows of different lengths (a batch of prompts, right-padded): the rotary position of each
  // filled slot, whether later tokens may attend to it (padding may not), and each row's next
  // position. Undefined while every row is filled alike, as in generation.
  at::Tensor slot_positions_BS, slot_attendable_BS, next_position_B;
  // A cache whose rows are copies of this one's: row r repeated counts[r] times, in order (a
  // shared prompt that several continuations then extend).
  KVCache repeat_rows(const std::vector<int64_t>& counts) const;
  // For the transformer: appends T slots to ragged rows (making the cache ragged if it was not)
  // and returns the new tokens' positions [B, T]. `attendable_BS` gets the keys this forward
  // may see: the earlier attendable slots and all of its own (a padding query attends to
  // itself, so no row of the mask is empty). Afterwards only each row's first row_lengths[b]
  // new slots (all T when empty) stay attendable.
  at::Tensor append_ragged(int64_t T, const std::vector<int64_t>& row_lengths, at::Tensor& attendable_BS);
};

class Transformer {
 public:
  Transformer(ModelConfig config, TransformerWeights weights);
  // A model whose weights are fetched layer by layer from `gatherer` (model/weight_gatherer.h),
  // which must outlive it; at rest its weights are undefined.
  Transformer(ModelConfig config, c10::Device device, at::ScalarType dtype, WeightGatherer* gatherer);

  // Fresh weights for training from scratch (model/weights.h: init_random_weights).
  static TransformerWeights random_weights(const ModelConfig& config, uint64_t seed, at::ScalarType dtype) {
    return init_random_weights(config, seed, dtype);
  }

  const ModelConfig& config() const { return config_; }
  TransformerWeights& weights() { return weights_; }
  const TransformerWeights& weights() const { return weights_; }

  // Calls fn(name, tensor) for every parameter, in weight_slots() order.
  void for_each_parameter(const std::function<void(const std::string&, at::Tensor&)>& fn);
  std::vector<at::Tensor> parameters();

  // Moves and casts every parameter; keeps requires_grad.
  void to(c10::Device device, at::ScalarType dtype);
  c10::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  // Drops the gathered embedding, final norm and head (after a step's backward, after an
  // evaluation); nothing without a gatherer.
  void release_gathered_weights();

  // Recompute each block in backward instead of keeping its activations.
  void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }
  // Fast CUDA kernels or the reference ops (model/kernel_options.h). Throws when a kernel
  // asked for by name cannot run on this device, dtype or architecture.
  void set_kernels(KernelOptions kernels);
  bool uses_fused_rms_norm() const { return fused_rms_norm_; }
  // The fast kernels `auto` does not take on this device for this family, and why, one line
  // each (for the run's log); empty when nothing is held back.
  std::vector<std::string> kernel_fallbacks() const;

  // tokens_BT int64 -> final-norm hidden states [B, T, C]. Without `packing` each row is one
  // causal sequence starting at position 0.
  at::Tensor hidden_states(const at::Tensor& tokens_BT, const std::optional<PackedRows>& packing = std::nullopt);
  at::Tensor logits(const at::Tensor& hidden_BTC);
  // Sum over rows of the cross-entropy of logits(hidden_NC) against labels_N (every label a
  // class), fp32; the whole projection at once or chunk by chunk, by model.kernels.loss (rows
  // that fit in one chunk take the whole-projection path: chunking them would save nothing).
  at::Tensor cross_entropy_sum(const at::Tensor& hidden_NC, const at::Tensor& labels_N);
  at::Tensor forward(const at::Tensor& tokens_BT, const std::optional<PackedRows>& packing = std::nullopt) {
    return logits(hidden_states(tokens_BT, packing));
  }

  KVCache make_cache(int64_t batch, int64_t capacity) const;
  // Appends tokens_BT to the cache and returns logits [B, T, V] for them.
  at::Tensor forward_cached(const at::Tensor& tokens_BT, KVCache& cache);
  // The same, returning final-norm hidden states [B, T, C]: the caller forms logits only at
  // the positions it needs (a prompt's last one, say). With `row_lengths`, row b holds
  // row_lengths[b] real tokens and then padding: the padding is cached but never attended to,
  // and row b's next tokens continue at its own next position.
  at::Tensor hidden_states_cached(const at::Tensor& tokens_BT, KVCache& cache,
                                  const std::vector<int64_t>& row_lengths = {});

 private:
  at::Tensor embed(const at::Tensor& tokens_BT);
  at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const;
  const at::Tensor& output_projection() const;  // lm_head, or the embedding when tied
  void resolve_kernels();
  bool use_varlen_attention(const std::optional<PackedRows>& packing, int64_t T) const;

  // Block i on x: gathered first when the weights are sharded, and recomputed in backward
  // under activation checkpointing.
  at::Tensor run_block(int64_t i, const at::Tensor& x, const std::function<at::Tensor(const at::Tensor&)>& block,
                       const std::vector<at::Tensor>& checkpoint_params);

  ModelConfig config_;
  TransformerWeights weights_;
  c10::Device device_ = c10::Device(c10::kCPU);
  at::ScalarType dtype_ = at::kFloat;
  WeightGatherer* gatherer_ = nullptr;
  at::Tensor inv_freq_;          // fp32 [rotary dims / 2]
  at::Tensor long_inv_freq_;     // longrope's long factors; undefined for other rope types
  at::Tensor sliding_inv_freq_;  // Gemma 3's sliding layers; undefined when they share inv_freq_
  // The rotary frequencies of `device` for every layer kind.
  void compute_rope_frequencies(c10::Device device);
  const at::Tensor& rope_frequencies_for(const at::Tensor& positions_BT) const;
  bool activation_checkpointing_ = false;
  KernelOptions kernels_;
  bool fused_rms_norm_ = false;  // kernels_.rms_norm resolved for this device and architecture
  bool fused_elementwise_ = false;
};

}  // namespace symtune

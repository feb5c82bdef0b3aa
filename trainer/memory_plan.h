// What a training run will hold in memory, estimated from its configs before anything is
// allocated, and the check against what the device (on the CPU, the machine) has: a run that
// cannot fit is refused with the estimate and the keys that change it, instead of growing until
// the kernel kills it or LibTorch aborts.
//
// Per rank: weights + gradients (+ a second copy in the all-reduce buckets with several ranks,
// or, sharded, 1/G of each and the units gathered whole)
// + Adafactor state (factored statistics, and the first moment with beta1) + the activations
// one micro-batch keeps for backward (model/activation_memory.h; with activation checkpointing
// only each block's input) + the fp32 logits of its target tokens (3 copies: logits, their
// log-softmax, the gradient) + the batches in host memory (the one training and those the
// prefetching workers build ahead).
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <string>

#include "model/model_config.h"
#include "trainer/train_config.h"

namespace symtune {

struct MemoryPlan {
  int64_t weight_bytes = 0, gradient_bytes = 0, optimizer_bytes = 0, activation_bytes = 0, logit_bytes = 0,
          batch_bytes = 0;
  // Sharded runs: the units gathered whole at once (the running block and the next one fetched
  // ahead, or every block without reshard_after_forward) and a unit's fp32 gradient buffers.
  int64_t gathered_bytes = 0;
  int64_t device_bytes() const;  // all but the batches
  // "weights 0.50 GiB + gradients ... = 3.1 GiB"
  std::string describe() const;
};

// shard_group_size > 1: weights, gradients and the first and second moments are split over the
// group (trainer/shard_layout.h); the factored statistics stay whole.
MemoryPlan plan_training_memory(const ModelConfig& model, c10::ScalarType dtype, const TrainConfig& config,
                                int64_t world_size, bool activation_checkpointing, int64_t shard_group_size = 1);

// For a run that does not fit: the smallest full-sharding group (a power of two up to 1024) with
// which it would, as advice for the error ("" when none would).
std::string sharding_advice(const ModelConfig& model, c10::ScalarType dtype, const TrainConfig& config,
                            int64_t world_size, bool activation_checkpointing, int64_t available_bytes);

// Throws Error when the plan exceeds `available_bytes` (what `where` has free: "cuda:0", "this
// machine"), with the plan and the keys that make a run smaller. On the CPU the device and the
// host are one memory: pass on_cpu = true to count the batches against it too.
// `advice`, asked only when the run does not fit, is appended to the error.
void require_memory_fits(const MemoryPlan& plan, int64_t available_bytes, const std::string& where, bool on_cpu,
                         const std::function<std::string()>& advice = {});

}  // namespace symtune

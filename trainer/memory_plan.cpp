#include "trainer/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "common/error.h"
#include "model/activation_memory.h"
#include "model/weights.h"
#include "optim/adafactor.h"
#include "trainer/shard_layout.h"

namespace symtune {
namespace {

constexpr double kGiB = double(int64_t(1) << 30);

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(bytes) / kGiB);
  return buf;
}

// fp32 statistics per tensor: the factored row and column vectors (whole on every rank), or a
// full second moment; plus the first moment when beta1 is set (those two split over `shards`).
int64_t adafactor_state_bytes(const ModelConfig& model, const AdafactorOptions& options, int64_t shards) {
  int64_t floats = 0;
  for (const TensorSpec& t : expected_tensors(model)) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    const int64_t piece = (numel + shards - 1) / shards;
    if (const auto dims = Adafactor::factored_dims_for(t.shape, options))
      floats += numel / t.shape[dims->first] + numel / t.shape[dims->second];
    else floats += piece;
    if (options.beta1) floats += piece;
  }
  return floats * 4;
}

}  // namespace

int64_t MemoryPlan::device_bytes() const {
  return weight_bytes + gradient_bytes + optimizer_bytes + gathered_bytes + activation_bytes + logit_bytes;
}

std::string MemoryPlan::describe() const {
  return "weights " + gib(weight_bytes) + " + gradients " + gib(gradient_bytes) + " + optimizer state " +
         gib(optimizer_bytes) + (gathered_bytes > 0 ? " + layers gathered whole " + gib(gathered_bytes) : "") +
         " + activations of a micro-batch " + gib(activation_bytes) + " + its logits " + gib(logit_bytes) + " = " +
         gib(device_bytes()) + ", and batches in host memory " + gib(batch_bytes);
}

MemoryPlan plan_training_memory(const ModelConfig& model, c10::ScalarType dtype, const TrainConfig& config,
                                int64_t world_size, bool activation_checkpointing, int64_t shard_group_size) {
  MemoryPlan p;
  const int64_t element = c10::elementSize(dtype), params = model.num_parameters();
  const int64_t g = std::max<int64_t>(shard_group_size, 1);
  p.optimizer_bytes = adafactor_state_bytes(model, config.optimizer, g);
  if (g > 1) {
    const ShardLayout layout(model, g);
    p.weight_bytes = p.gradient_bytes = layout.shard_elements() * element;
    // The outer unit stays whole through the step; a block runs while the next is fetched; the
    // largest unit's gradient is reduce-scattered from an fp32 copy beside autograd's.
    int64_t outer = layout.units()[0].numel, block = 0;
    for (size_t u = 1; u < layout.units().size(); ++u) block = std::max(block, layout.units()[u].numel);
    const bool keeps_all = !config.train.reshard_after_forward && !activation_checkpointing;
    const int64_t whole = keeps_all ? params : outer + block * (config.train.prefetch_gather ? 2 : 1);
    const int64_t unit = layout.largest_unit_elements();
    p.gathered_bytes = whole * element + unit * (4 + element);
  } else {
    p.weight_bytes = params * element;
    p.gradient_bytes = params * element * (world_size > 1 ? 2 : 1);
  }
  const DataConfig& data = config.data;
  const int64_t rows = std::max<int64_t>(data.rows_per_batch / std::max<int64_t>(world_size, 1), 1);
  const int64_t micro = config.train.micro_batch_rows > 0 ? std::min(config.train.micro_batch_rows, rows) : rows;
  const int64_t micro_tokens = micro * data.row_tokens();
  const int64_t per_token_layer = activation_bytes_per_token_per_layer(model, element, /*fused_rms_norm=*/false);
  // With checkpointing each block keeps its input, and one block at a time its full activations.
  p.activation_bytes = activation_checkpointing
                           ? micro_tokens * (model.num_layers * model.hidden_size * element + per_token_layer)
                           : micro_tokens * model.num_layers * per_token_layer;
  // Targets are a small share of a row (a few tokens per classification example); counted as one
  // full-length target per row.
  const int64_t target_tokens = micro * std::min(data.row_tokens(), data.max_target_tokens);
  const int64_t chunk = config.model.kernels.loss == KernelOptions::Loss::kChunked ? int64_t(32) << 20 : INT64_MAX;
  p.logit_bytes = 3 * 4 * std::min(target_tokens * model.vocab_size, chunk);
  // tokens, positions, segments, labels: int64 each; one batch training, 2 per worker ahead.
  const int64_t batches = 1 + 2 * config.train.data_workers;
  p.batch_bytes = batches * rows * data.row_tokens() * 4 * 8;
  return p;
}

std::string sharding_advice(const ModelConfig& model, c10::ScalarType dtype, const TrainConfig& config,
                            int64_t world_size, bool activation_checkpointing, int64_t available_bytes) {
  for (int64_t g = 2; g <= 1024; g *= 2) {
    // The same batch per rank (the global batch grows with the ranks): only the sharding changes.
    const MemoryPlan p = plan_training_memory(model, dtype, config, world_size, activation_checkpointing, g);
    if (static_cast<double>(p.device_bytes()) <= 0.9 * static_cast<double>(available_bytes))
      return "; or shard it: with train.sharding \"full\" over " + std::to_string(g) +
             " such devices (the same rows per rank) it needs about " + gib(p.device_bytes()) + " each (" +
             p.describe() + ")";
  }
  return "";
}

void require_memory_fits(const MemoryPlan& plan, int64_t available_bytes, const std::string& where, bool on_cpu,
                         const std::function<std::string()>& advice) {
  const int64_t needed = plan.device_bytes() + (on_cpu ? plan.batch_bytes : 0);
  // 10% is left for workspaces, fragmentation and what the estimate does not see.
  if (static_cast<double>(needed) <= 0.9 * static_cast<double>(available_bytes)) return;
  throw Error("the run needs about " + gib(needed) + " but " + where + " has " + gib(available_bytes) + " available (" +
              plan.describe() +
              "). Make it smaller: data.rows_per_batch, train.micro_batch_rows (gradient accumulation), "
              "data.max_input_tokens / data.max_target_tokens, model.activation_checkpointing: true, "
              "model.dtype: bfloat16, or a smaller model" +
              (advice ? advice() : std::string()));
}

}  // namespace symtune

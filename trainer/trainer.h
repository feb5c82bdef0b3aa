// The fine-tuning loop: model + data stream + Adafactor + schedule, with gradient
// accumulation, clipping, held-out evaluation, logging, atomic checkpoints and exact resume,
// and a clean stop on SIGTERM/SIGINT. Data parallel over as many processes as the launcher
// starts: each rank takes its slice of every global batch, gradients are summed over ranks in
// buckets during backward (trainer/gradient_sync.h), rank 0 logs and writes checkpoints.
// The step (train_step) reads like the algorithm: batch, forward/backward per micro-batch,
// clip, update (or skip a non-finite one), log, checkpoint.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "trainer/train_config.h"

namespace spdlog {
class logger;
}

namespace symtune {

class Transformer;
class Adafactor;
class Tokenizer;
class ExampleSource;
class BatchStream;
class BatchPrefetcher;
class MetricsFile;
class TensorBoardEventFile;
struct Batch;
class Communicator;
class GradientSync;
class ShardedTraining;
struct LaunchEnv;

class Trainer {
 public:
  // resume: "" = start fresh, "auto" = the newest complete checkpoint of the run if any,
  // otherwise a checkpoint directory.
  explicit Trainer(TrainConfig config, const std::string& resume = "");
  ~Trainer();

  // Trains to max_steps or until a stop is requested; returns the step reached. Writes a final
  // checkpoint either way.
  int64_t run();

  // Held-out loss and symbol-label ICL accuracy; logged and written to metrics.jsonl.
  nlohmann::json evaluate();

  Transformer& model() { return *model_; }
  int64_t step() const { return step_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  struct StepResult {
    double loss = 0, grad_norm = 0, seconds = 0;
    double comm_bytes = 0;  // sent and received by this rank in the step's collectives (ring volumes)
    double lr = std::numeric_limits<double>::quiet_NaN();  // as the optimizer applied it; NaN for a skipped step
    int64_t target_tokens = 0, tokens = 0, examples = 0;
    int64_t row_tokens =
        0;  // tokens / s counts real tokens; rows x seq (padding included) is what HF-style benches count
    bool skipped = false;
  };
  StepResult train_step();
  struct DeviceBatch;  // a Batch's tensors on the model's device
  DeviceBatch to_device(const Batch& batch) const;
  at::Tensor micro_batch_loss_sum(const DeviceBatch& rows);
  void log_step(const StepResult& r);
  void evaluate_unless_stopped();
  bool stop_agreed();
  std::filesystem::path save();
  void restore(const std::filesystem::path& checkpoint);
  void restore_by_ranges(const std::filesystem::path& checkpoint);
  void restore_whole(const std::filesystem::path& checkpoint);

  // Construction, step by step (each needs the ones before it).
  void setup_distributed(const LaunchEnv& env);  // device, communicator
  void setup_run_dir();                          // output folder, resolved config, logger, threads
  void check_memory_plan();                      // before anything is written or allocated
  void setup_model();                            // weights on the device, kernels
  void setup_tokenizer();                        // copied into the run folder, the model's special ids
  void setup_optimizer();                        // Adafactor; activation checkpointing by memory left
  void setup_data_parallel();                    // rank 0's weights everywhere, gradient buckets
  void setup_data();                             // training stream, held-out stream
  void resume_from(const std::string& resume);
  void log_setup(const LaunchEnv& env);
  void choose_activation_checkpointing(int64_t world_size);

  TrainConfig config_;
  c10::Device device_ = c10::Device(c10::kCPU);
  std::string tokenizer_spec_;  // data.tokenizer, or the model directory
  std::string memory_plan_;     // trainer/memory_plan.h, for the log
  std::filesystem::path run_dir_, tokenizer_dir_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<Transformer> model_;
  std::unique_ptr<Adafactor> optimizer_;
  std::shared_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<ExampleSource> source_, eval_source_;
  std::unique_ptr<BatchStream> stream_;                // its position is the next batch to train on (the resume state)
  std::unique_ptr<BatchPrefetcher> prefetcher_;        // builds ahead of stream_ during run(); reads stream_
  std::unique_ptr<MetricsFile> metrics_;               // rank 0 only
  std::unique_ptr<TensorBoardEventFile> tensorboard_;  // rank 0, when train.tensorboard
  // A metrics record to metrics.jsonl and, as scalars, to TensorBoard.
  void record_metrics(const nlohmann::json& record);
  void setup_tensorboard();
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<GradientSync> sync_;        // when more than one rank, unsharded
  std::unique_ptr<ShardedTraining> sharded_;  // train.sharding full or hybrid: replaces optimizer_ and sync_
  int64_t step_ = 0, skipped_total_ = 0, consecutive_nonfinite_ = 0;
  double tokens_per_s_ema_ = 0;
};

}  // namespace symtune

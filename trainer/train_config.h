// A training run's whole configuration, read from one JSON file plus --set overrides:
//   model     - where the weights come from, dtype, device, activation checkpointing
//   data      - see data/data_config.h
//   optimizer - Adafactor options (optim/adafactor.h)
//   schedule  - learning-rate schedule (optim/lr_schedule.h)
//   train     - steps, batch split, logging, checkpoints, failure handling
//   eval      - held-out evaluation during training
// Every key is documented on its field; an unknown key is an error naming the nearest valid
// one. The resolved configuration is written into the run folder.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "model/kernel_options.h"
#include "optim/adafactor.h"
#include "optim/lr_schedule.h"

namespace symtune {

struct ModelSection {
  std::string path;            // HF model directory to fine-tune; "" = initialise from init_config
  nlohmann::json init_config;  // HF config.json object for a model initialised by symtune (no path)
  uint64_t init_seed = 0;
  std::string dtype = "auto";   // "float32", "bfloat16", or "auto" (bf16 on CUDA, fp32 on CPU)
  std::string device = "auto";  // "cpu", "cuda", "cuda:N", "auto"
  // true, false, or "auto": on when the estimated activations of a micro-batch would not fit
  // in the free GPU memory (model/activation_memory.h); off on the CPU.
  enum class Checkpointing { kOff, kOn, kAuto } activation_checkpointing = Checkpointing::kAuto;
  // {"attention": "auto"|"sdpa_mask"|"flash_varlen", "rms_norm": "auto"|"reference"|"fused",
  //  "elementwise": "reference"|"fused", "loss": "reference"|"chunked", "loss_chunk_rows": N}:
  // fast CUDA kernels or the reference ops (model/kernel_options.h); auto = fast where they apply.
  KernelOptions kernels;
};

struct TrainSection {
  std::string output_dir = "runs/run";         // checkpoints/, metrics.jsonl, train.log, config.json
  int64_t max_steps = 100;                     // optimizer steps (paper: up to 4000)
  int64_t micro_batch_rows = 0;                // rows per forward/backward; 0 = the whole per-rank batch
  int64_t log_every = 1;                       // steps between metric lines
  int64_t checkpoint_every = 0;                // steps between checkpoints; 0 = only at the end
  int64_t keep_checkpoints = 2;                // newest complete checkpoints kept (>= 1)
  double clip_grad_norm = 1.0;                 // global-norm clip; 0 = measure only
  int64_t max_consecutive_nonfinite = 5;       // skipped updates in a row before the run stops
  int64_t threads = 0;                         // CPU intra-op threads; 0 = torch's default
  int64_t data_workers = 2;                    // threads building the coming batches during the step; 0 = inline
  std::vector<int64_t> debug_nonfinite_steps;  // test hook: the loss of these steps is made NaN
  // Data parallelism (several processes; see trainer/launch_env.h for how ranks are found).
  double collective_timeout_s = 600;  // a collective waiting longer fails the run (dead or hung rank)
  double bucket_mib = 25;             // gradient all-reduce bucket size
  bool overlap_allreduce = true;      // start each bucket's all-reduce during backward
  bool log_all_ranks = false;         // also write train.rank<N>.log for ranks other than 0
};

struct EvalSection {
  int64_t every = 0;                    // steps between held-out evaluations; 0 = none during training
  int64_t loss_batches = 4;             // held-out batches for the loss
  int64_t icl_examples = 0;             // held-out symbol-label ICL prompts scored per evaluation (0 = none)
  int64_t icl_exemplars_per_class = 4;  // paper: 4
};

struct TrainConfig {
  ModelSection model;
  DataConfig data;
  AdafactorOptions optimizer;
  ScheduleConfig schedule;
  bool schedule_given = false;  // without a schedule the optimizer's own lr / relative step rules
  TrainSection train;
  EvalSection eval;
  nlohmann::json resolved;  // the configuration after overrides and path resolution
};

// Reads `path`, applies overrides "key.path=value" (value parsed as JSON, else taken as a
// string), validates everything. Relative paths resolve against the config file's folder,
// except train.output_dir which resolves against the working directory.
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Same, from JSON already in memory (tests).
TrainConfig parse_train_config(nlohmann::json config, const std::string& origin, const std::string& base_dir,
                               const std::vector<std::string>& overrides = {});

}  // namespace symtune

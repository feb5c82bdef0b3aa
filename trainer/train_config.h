// A training run's whole configuration, read from one JSON file plus --set overrides:
//   model     - where the weights come from, dtype, device, activation checkpointing
//   data      - see data/data_config.h
//   optimizer - Adafactor options (optim/adafactor_options.h)
//   schedule  - learning-rate schedule (optim/lr_schedule.h)
//   train     - steps, batch split, logging, checkpoints, failure handling
//   eval      - held-out evaluation during training
// Every key is declared once in its section's table (common/config_table.h), with its range and
// meaning; an unknown key is an error naming the nearest valid one. The resolved configuration
// is written into the run folder.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/device_choice.h"
#include "data/data_config.h"
#include "model/kernel_options.h"
#include "optim/adafactor_options.h"
#include "optim/lr_schedule.h"

namespace symtune {

struct ModelConfig;

// Each field's key, range and meaning are declared once, in the section's table in
// train_config.cpp; docs/config-reference.md (symtune train --config-reference) lists them.
struct ModelSection {
  std::string path;            // HF model directory to fine-tune; "" = initialise from init_config
  nlohmann::json init_config;  // HF config.json object for a model initialised by symtune (no path)
  uint64_t init_seed = 0;
  DtypeChoice dtype = DtypeChoice::kAuto;
  DeviceChoice device;
  // On when the estimated activations of a micro-batch would not fit in the free GPU memory
  // (model/activation_memory.h) for kAuto; off on the CPU.
  enum class Checkpointing { kOff, kOn, kAuto } activation_checkpointing = Checkpointing::kAuto;
  KernelOptions kernels;  // model/kernel_options.h
};

struct TrainSection {
  std::string output_dir = "runs/run";  // checkpoints/, metrics.jsonl, train.log, config.json
  int64_t max_steps = 100;
  int64_t micro_batch_rows = 0;  // 0 = the whole per-rank batch
  int64_t log_every = 1;
  int64_t checkpoint_every = 0;  // 0 = only at the end
  int64_t keep_checkpoints = 2;
  double clip_grad_norm = 1.0;  // 0 = measure only
  int64_t max_consecutive_nonfinite = 5;
  int64_t threads = 0;                         // 0 = torch's default
  int64_t data_workers = 2;                    // 0 = inline
  std::vector<int64_t> debug_nonfinite_steps;  // test hook: the loss of these steps is made NaN
  double collective_timeout_s = 600;
  double bucket_mib = 25;
  bool overlap_allreduce = true;
  bool log_all_ranks = false;
  bool tensorboard = true;  // <output_dir>/tb/events.out.tfevents.* (rank 0)
  // Sharded data parallelism (trainer/sharded_training.h): weights, gradients and optimizer
  // state split over the ranks (full) or over groups of shard_group_size ranks (hybrid).
  enum class Sharding { kNone, kFull, kHybrid } sharding = Sharding::kNone;
  int64_t shard_group_size = 0;  // hybrid: ranks per shard group; 0 = the ranks of one node
  bool reshard_after_forward = true;
  bool prefetch_gather = true;
};

struct EvalSection {
  int64_t every = 0;  // 0 = none during training
  int64_t loss_batches = 4;
  int64_t icl_examples = 0;
  int64_t icl_exemplars_per_class = 4;
  int64_t icl_max_input_tokens = 0;  // 0 = data.max_input_tokens
  int64_t icl_batch_tokens = 8192;   // cached tokens per scoring forward
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

// A run config file as JSON, with its "extends" chain merged; an unknown top-level section is an
// Error naming the nearest valid one. For commands that read only some sections (symtune data).
nlohmann::json read_run_config_json(const std::string& path);

// The top-level sections of a run config, in order.
const std::vector<std::string>& run_config_sections();

// The config of the model a run trains: model.path's config.json, or model.init_config.
ModelConfig model_config_of(const ModelSection& model);

// Every field of every section as a markdown page (docs/config-reference.md), generated from the
// same tables the reader uses.
std::string config_reference_markdown();

}  // namespace symtune

// Building a Trainer, step by step (trainer/trainer.h lists the steps), and restoring one from
// a checkpoint.
#include "trainer/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "common/device_memory.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/json_values.h"
#include "common/tensorboard_events.h"
#include "data/batch_prefetcher.h"
#include "data/batches.h"
#include "data/mixture.h"
#include "data/tokenizer.h"
#include "model/activation_memory.h"
#include "model/hf_checkpoint.h"
#include "model/placement.h"
#include "model/transformer.h"
#include "optim/adafactor.h"
#include "trainer/checkpoint.h"
#include "trainer/communicator.h"
#include "trainer/gradient_sync.h"
#include "trainer/launch_env.h"
#include "trainer/memory_plan.h"
#include "trainer/metrics.h"
#include "trainer/sharded_checkpoint.h"
#include "trainer/sharded_training.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

Trainer::Trainer(TrainConfig config, const std::string& resume) : config_(std::move(config)) {
  const LaunchEnv env = read_launch_env();
  setup_distributed(env);
  check_memory_plan();
  setup_run_dir();
  setup_model();
  setup_tokenizer();
  setup_optimizer();
  setup_data_parallel();
  setup_data();
  if (!resume.empty()) resume_from(resume);
  if (comm_->rank() == 0) metrics_ = std::make_unique<MetricsFile>(run_dir_ / "metrics.jsonl", step_);
  if (comm_->rank() == 0 && config_.train.tensorboard) setup_tensorboard();
  log_setup(env);
}

// A new event file for this segment; a resumed one first tells readers to drop what the
// interrupted segment logged after the checkpoint, as metrics.jsonl does.
void Trainer::setup_tensorboard() {
  tensorboard_ = std::make_unique<TensorBoardEventFile>(run_dir_ / "tb");
  if (step_ > 0) tensorboard_->add_session_start(step_ + 1);
  tensorboard_->add_text("config", "```\n" + config_.resolved.dump(2) + "\n```", step_);
}

// One process per GPU: "cuda" (or "auto" on a GPU machine) is the GPU of this process's local rank.
void Trainer::setup_distributed(const LaunchEnv& env) {
  device_ = resolve_device(config_.model.device, "model.device", env.world_size > 1 ? env.local_rank : 0);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(1000 * config_.train.collective_timeout_s));
  comm_ = std::make_unique<Communicator>(env, device_.is_cuda(), timeout);
}

void Trainer::setup_run_dir() {
  run_dir_ = config_.train.output_dir;
  tokenizer_dir_ = run_dir_ / "tokenizer";
  if (comm_->rank() == 0) {
    std::error_code ec;
    fs::create_directories(run_dir_, ec);
    if (ec) throw Error(run_dir_.string() + ": cannot create the output directory: " + ec.message());
    write_text_file_atomically(run_dir_ / "config.json",
                               config_.resolved.dump(2) + "\n");  // also proves it is writable
  }
  comm_->barrier();  // the run folder exists for every rank from here on
  log_ = make_run_logger(run_dir_, comm_->rank(), config_.train.log_all_ranks);
  if (comm_->rank() == 0)
    for (const fs::path& gone : remove_stale_partials(run_dir_ / "checkpoints"))
      log_->info("removed {}: a checkpoint write whose process is gone", gone.string());
  if (config_.train.threads > 0) at::set_num_threads(static_cast<int>(config_.train.threads));
}

// A pretrained HF directory, or a model initialised from its config (fp32 draws, then cast, so
// the weights do not depend on the dtype).
void Trainer::setup_model() {
  const at::ScalarType dtype = resolve_dtype(config_.model.dtype, device_);
  tokenizer_spec_ = config_.data.tokenizer;
  if (config_.model.path.empty() && tokenizer_spec_.empty())
    throw Error("data.tokenizer: a model initialised by symtune needs a tokenizer (\"bytes\" or a tokenizer.model)");
  if (config_.train.sharding != TrainSection::Sharding::kNone) {
    if (tokenizer_spec_.empty()) tokenizer_spec_ = config_.model.path;
    sharded_ = std::make_unique<ShardedTraining>(config_, *comm_, model_config_of(config_.model), device_, dtype);
    sharded_->load_weights(config_);
    model_ = sharded_->release_model();
  } else if (!config_.model.path.empty()) {
    model_ = load_pretrained(config_.model.path, {dtype, device_, /*requires_grad=*/true});
    if (tokenizer_spec_.empty()) tokenizer_spec_ = config_.model.path;
  } else {
    const ModelConfig mc = model_config_of(config_.model);
    model_ = std::make_unique<Transformer>(mc, Transformer::random_weights(mc, config_.model.init_seed, at::kFloat));
    model_->to(device_, dtype);
    model_->for_each_parameter([](const std::string&, at::Tensor& t) { t.requires_grad_(true); });
  }
  model_->set_kernels(config_.model.kernels);
}

// Before any tensor exists: the model's config.json and the run config say what the run will
// hold; a run that cannot fit is refused here rather than killed later (trainer/memory_plan.h).
void Trainer::check_memory_plan() {
  const at::ScalarType dtype = resolve_dtype(config_.model.dtype, device_);
  const ModelConfig mc = model_config_of(config_.model);
  using Mode = ModelSection::Checkpointing;
  const bool checkpointing = config_.model.activation_checkpointing == Mode::kOn ||
                             (config_.model.activation_checkpointing == Mode::kAuto && device_.is_cuda());
  const int64_t group = shard_group_size_for(config_.train, comm_->world_size(), comm_->env().local_world_size);
  const MemoryPlan plan = plan_training_memory(mc, dtype, config_, comm_->world_size(), checkpointing, group);
  const auto host = host_memory();
  auto advice = [&](int64_t available) -> std::function<std::string()> {  // only for a refusal
    return
        [&, available] { return sharding_advice(mc, dtype, config_, comm_->world_size(), checkpointing, available); };
  };
  if (device_.is_cuda()) {
    if (const auto memory = device_memory(device_))
      require_memory_fits(plan, memory->free_bytes, device_.str(), false, advice(memory->free_bytes));
    if (host && static_cast<double>(plan.batch_bytes) > 0.9 * static_cast<double>(host->free_bytes))
      require_memory_fits(MemoryPlan{0, 0, 0, 0, 0, plan.batch_bytes}, host->free_bytes, "this machine", true);
  } else if (host) {
    require_memory_fits(plan, host->free_bytes, "this machine", true, advice(host->free_bytes));
  }
  memory_plan_ = plan.describe();
}

// The tokenizer files are copied into the run folder (checkpoints carry them); the model's
// special token ids override the tokenizer's.
void Trainer::setup_tokenizer() {
  const ModelConfig& mc = model_->config();
  if (comm_->rank() == 0) write_tokenizer_files(tokenizer_spec_, tokenizer_dir_);
  comm_->barrier();
  tokenizer_ =
      load_tokenizer(tokenizer_dir_, {mc.bos_token_id, mc.first_eos_token_id(), mc.pad_token_id}, mc.vocab_size);
}

void Trainer::setup_optimizer() {
  if (sharded_) {
    sharded_->make_optimizer(config_.optimizer);
    choose_activation_checkpointing(comm_->world_size());
    return;
  }
  std::vector<NamedParameter> params;
  model_->for_each_parameter([&](const std::string& name, at::Tensor& t) { params.push_back({name, t}); });
  optimizer_ = std::make_unique<Adafactor>(params, config_.optimizer);
  choose_activation_checkpointing(comm_->world_size());
}

// Every rank starts from rank 0's weights (a model initialised here depends only on its seed,
// but a checkpoint read from a slow shared disk should not be trusted blindly), then gradients
// are summed in buckets during backward.
void Trainer::setup_data_parallel() {
  if (!comm_->distributed() || sharded_) return;  // sharded ranks each read their own part
  std::vector<at::Tensor> weights = model_->parameters();
  {
    at::NoGradGuard no_grad;
    comm_->broadcast(weights, 0);
    double local = 0;
    for (const auto& w : weights) local += w.to(at::kDouble).abs().sum().item<double>();
    at::Tensor sums = at::zeros({comm_->world_size()}, at::kDouble);
    sums[comm_->rank()] = local;
    comm_->all_reduce_sum(sums);
    if (!at::all(sums == sums[0]).item<bool>())
      throw Error("rank " + std::to_string(comm_->rank()) + ": parameters differ across ranks after the broadcast");
  }
  sync_ = std::make_unique<GradientSync>(weights, *comm_, config_.train.bucket_mib, config_.train.overlap_allreduce);
}

void Trainer::setup_data() {
  source_ = std::make_shared<ExampleSource>(config_.data);
  stream_ = std::make_unique<BatchStream>(source_, tokenizer_, comm_->rank(), comm_->world_size());
  const bool evaluates = config_.eval.every > 0 || config_.eval.loss_batches > 0;
  if (evaluates && !config_.data.held_out_datasets.empty())
    eval_source_ = std::make_shared<ExampleSource>(held_out_data_config(config_.data));
}

void Trainer::resume_from(const std::string& resume) {
  std::optional<fs::path> checkpoint;
  if (resume == "auto") {
    checkpoint = latest_checkpoint(run_dir_ / "checkpoints");
    if (!checkpoint)
      log_->info("--resume auto: no complete checkpoint in {}; starting fresh", (run_dir_ / "checkpoints").string());
  } else {
    checkpoint = fs::path(resume);
  }
  if (checkpoint) restore(*checkpoint);
}

void Trainer::log_setup(const LaunchEnv& env) {
  const ModelConfig& mc = model_->config();
  log_->info("memory plan per rank: {}", memory_plan_);
  if (const std::string note = dtype_choice_note(config_.model.dtype, device_); !note.empty()) log_->info("{}", note);
  log_->info("model {} ({} parameters, {} on {}), tokenizer {} ({} tokens)", mc.architecture_name, mc.num_parameters(),
             c10::toString(model_->dtype()), device_.str(), tokenizer_spec_, tokenizer_->vocab_size());
  for (const std::string& fallback : model_->kernel_fallbacks()) log_->info("kernels auto: {}", fallback);
  if (sharded_)
    log_->info("sharded data parallel ({}): {} ranks ({}), {}",
               config_.train.sharding == TrainSection::Sharding::kFull ? "full" : "hybrid", comm_->world_size(),
               env.launcher, sharded_->describe());
  else if (comm_->distributed())
    log_->info("data parallel: {} ranks ({}), {} gradient buckets of {} MiB, all-reduce {}", comm_->world_size(),
               env.launcher, sync_->num_buckets(), config_.train.bucket_mib,
               config_.train.overlap_allreduce ? "overlapped with backward" : "after backward");
  log_->info(
      "data: {} tuning datasets, symbol share {:.0f}%, {} rows x {} tokens per step; optimizer Adafactor; "
      "{} steps from step {}",
      source_->datasets().size(), 100 * config_.data.symbol_fraction, config_.data.rows_per_batch,
      config_.data.row_tokens(), config_.train.max_steps, step_);
}

// After the weights and the optimizer state are on the device: what is left decides. Every
// rank follows rank 0's decision, so all ranks run the same backward graph.
void Trainer::choose_activation_checkpointing(int64_t world_size) {
  using Mode = ModelSection::Checkpointing;
  bool on = config_.model.activation_checkpointing == Mode::kOn;
  const auto memory = device_memory(model_->device());
  if (config_.model.activation_checkpointing == Mode::kAuto && memory) {
    const int64_t rows = config_.data.rows_per_batch / std::max<int64_t>(world_size, 1);
    const int64_t micro = config_.train.micro_batch_rows > 0 ? std::min(config_.train.micro_batch_rows, rows) : rows;
    int64_t gradient_bytes = 0;
    if (sharded_) {
      gradient_bytes = sharded_->held_bytes() + 3 * sharded_->largest_gathered_bytes();  // shards, a unit's buffers
    } else {
      for (const auto& p : model_->parameters()) gradient_bytes += p.numel() * p.element_size();
      if (world_size > 1) gradient_bytes *= 2;  // the all-reduce buckets hold another copy
    }
    const CheckpointingDecision d = decide_activation_checkpointing(
        model_->config(), micro * config_.data.row_tokens(), c10::elementSize(model_->dtype()),
        model_->uses_fused_rms_norm(), gradient_bytes, memory->free_bytes, memory->total_bytes);
    on = d.on;
    if (comm_->distributed()) {
      std::vector<at::Tensor> decision{
          at::full({1}, on ? 1 : 0, at::TensorOptions().dtype(at::kInt).device(model_->device()))};
      comm_->broadcast(decision, 0);
      on = decision[0].item<int>() != 0;
    }
    log_->info("activation checkpointing {} (auto): activations of a micro-batch ~{:.1f} GiB, {:.1f} GiB available",
               on ? "on" : "off", d.activation_gib, d.available_gib);
  }
  if (sharded_) sharded_->set_activation_checkpointing(on);
  else model_->set_activation_checkpointing(on);
}

// The checkpoint's weights into the configured model, matched by name: a checkpoint of another
// model (other layer count, width, head) is refused naming the first tensor that differs.
void Trainer::restore(const fs::path& checkpoint) {
  const json state = read_trainer_state(checkpoint);
  if (sharded_ || fs::exists(checkpoint / "manifest.json")) {
    restore_by_ranges(checkpoint);
  } else {
    restore_whole(checkpoint);
  }
  const std::string where = (checkpoint / "trainer_state.json").string();
  uint64_t next_batch = 0;
  if (!read_value(state, "step", step_, where) || !read_value(state, "data_next_batch", next_batch, where))
    throw Error(where + ": 'step' and 'data_next_batch' are required");
  stream_->seek(next_batch);
  read_value(state, "skipped_updates", skipped_total_, where);
  read_value(state, "consecutive_nonfinite", consecutive_nonfinite_, where);
  log_->info("resumed from {} at step {}", checkpoint.string(), step_);
}

// Any checkpoint into a sharded run, or a sharded checkpoint into an unsharded one: tensor by
// tensor through the ranges the run needs (trainer/sharded_checkpoint.h).
void Trainer::restore_by_ranges(const fs::path& checkpoint) {
  const CheckpointReader reader(checkpoint);
  if (sharded_) {
    sharded_->restore(reader);
    return;
  }
  at::NoGradGuard no_grad;
  model_->for_each_parameter([&](const std::string& name, at::Tensor& t) {
    if (reader.weight_shape(name) != t.sizes().vec())
      throw Error(checkpoint.string() + ": parameter '" + name + "' has shape " +
                  c10::str(at::IntArrayRef(reader.weight_shape(name))) + ", the configured model's is " +
                  c10::str(t.sizes()) + " (was the model configuration changed since this checkpoint?)");
    t.copy_(reader.read_weight(name, 0, t.numel()).view(t.sizes()));
  });
  // The names and shapes this optimizer expects, checked before anything is read.
  std::map<std::string, at::Tensor> state = optimizer_->state_dict();
  if (reader.state_keys().size() + 1 != state.size())
    throw Error(checkpoint.string() + ": " + std::to_string(reader.state_keys().size()) +
                " optimizer state entries, this optimizer has " + std::to_string(state.size() - 1) +
                " (beta1 or factoring changed since the checkpoint?)");
  for (auto& [key, value] : state) {
    if (key == "step") {
      value = at::scalar_tensor(reader.optimizer_step(), at::kLong);
      continue;
    }
    if (!reader.has_state(key) || reader.state_shape(key) != value.sizes().vec())
      throw Error(checkpoint.string() + ": optimizer state '" + key +
                  "' is missing or has another shape (was the model or the optimizer configuration changed?)");
    value = reader.read_state(key, 0, value.numel()).view(value.sizes());
  }
  try {
    optimizer_->load_state_dict(state);
  } catch (const Error& e) {
    throw Error(checkpoint.string() + ": " + e.what());
  }
}

// An unsharded checkpoint into an unsharded run: the weights matched by name.
void Trainer::restore_whole(const fs::path& checkpoint) {
  auto saved = load_pretrained(checkpoint / "model", {model_->dtype(), model_->device(), false});
  std::map<std::string, at::Tensor> saved_by_name;
  saved->for_each_parameter([&](const std::string& name, at::Tensor& t) { saved_by_name[name] = t; });
  const std::string hint = " (was the model configuration changed since this checkpoint?)";
  {
    at::NoGradGuard no_grad;
    model_->for_each_parameter([&](const std::string& name, at::Tensor& t) {
      auto found = saved_by_name.find(name);
      if (found == saved_by_name.end())
        throw Error(checkpoint.string() + ": has no parameter '" + name + "', which the configured model has" + hint);
      if (t.sizes() != found->second.sizes())
        throw Error(checkpoint.string() + ": parameter '" + name + "' has shape " + c10::str(found->second.sizes()) +
                    ", the configured model's is " + c10::str(t.sizes()) + hint);
      t.copy_(found->second);
      saved_by_name.erase(found);
    });
  }
  if (!saved_by_name.empty())
    throw Error(checkpoint.string() + ": parameter '" + saved_by_name.begin()->first +
                "' is not part of the configured model" + hint);
  try {
    optimizer_->load_state_dict(read_optimizer_state(checkpoint));
  } catch (const Error& e) {
    throw Error((checkpoint / "optimizer.safetensors").string() + ": " + e.what());
  }
}

}  // namespace symtune

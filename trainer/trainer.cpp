#include "trainer/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "common/device_memory.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "common/tensorboard_events.h"
#include "data/batch_prefetcher.h"
#include "data/batches.h"
#include "data/mixture.h"
#include "data/tokenizer.h"
#include "eval/icl_scoring.h"
#include "model/transformer.h"
#include "model/varlen_attention.h"
#include "optim/adafactor.h"
#include "optim/grad_clip.h"
#include "trainer/checkpoint.h"
#include "trainer/communicator.h"
#include "trainer/gradient_sync.h"
#include "trainer/metrics.h"
#include "trainer/sharded_training.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

Trainer::~Trainer() = default;

fs::path Trainer::save() {
  const json state = {{"step", step_},
                      {"data_next_batch", stream_->next_batch()},
                      {"skipped_updates", skipped_total_},
                      {"consecutive_nonfinite", consecutive_nonfinite_}};
  const auto t0 = std::chrono::steady_clock::now();
  if (sharded_) {  // every rank writes its shards
    const fs::path dir =
        sharded_->save(run_dir_ / "checkpoints", step_, state, tokenizer_dir_, config_.train.keep_checkpoints);
    log_->info("checkpoint {} (sharded, written in {:.2f} s)", dir.string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return dir;
  }
  comm_->barrier();  // every rank has finished the step being saved
  fs::path dir;
  if (comm_->rank() == 0) {
    dir = save_checkpoint(run_dir_ / "checkpoints", step_, *model_, *optimizer_, state, tokenizer_dir_,
                          config_.train.keep_checkpoints);
    log_->info("checkpoint {} (written in {:.2f} s)", dir.string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  comm_->barrier();  // nobody runs ahead of a checkpoint that is still being written
  return dir;
}

struct Trainer::DeviceBatch {
  at::Tensor tokens_BT, positions_BT, segments_BT, labels_BT;  // int64
  std::vector<std::vector<int32_t>> segment_lengths_by_row;    // host: lets CUDA skip the dense mask
  DeviceBatch rows(int64_t start, int64_t n) const {
    return {tokens_BT.narrow(0, start, n),
            positions_BT.narrow(0, start, n),
            segments_BT.narrow(0, start, n),
            labels_BT.narrow(0, start, n),
            {segment_lengths_by_row.begin() + start, segment_lengths_by_row.begin() + start + n}};
  }
  PackedRows packing() const {
    PackedRows p{positions_BT, segments_BT, {}};
    for (const auto& row : segment_lengths_by_row)
      p.segment_lengths.insert(p.segment_lengths.end(), row.begin(), row.end());
    return p;
  }
};

Trainer::DeviceBatch Trainer::to_device(const Batch& batch) const {
  // One host buffer and one copy for all four arrays (pinned memory when CUDA, so the copy
  // does not wait for the host).
  const int64_t n = batch.rows * batch.seq;
  const bool cuda = model_->device().is_cuda();
  at::Tensor host = at::empty({4, batch.rows, batch.seq}, at::TensorOptions().dtype(at::kLong).pinned_memory(cuda));
  int64_t* dst = host.data_ptr<int64_t>();
  for (const std::vector<int64_t>* v : {&batch.tokens, &batch.position_ids, &batch.segment_ids, &batch.labels}) {
    std::copy(v->begin(), v->end(), dst);
    dst += n;
  }
  at::Tensor dev = host.to(model_->device(), /*non_blocking=*/cuda);
  DeviceBatch d{dev[0], dev[1], dev[2], dev[3], {}};
  for (int64_t r = 0; r < batch.rows; ++r)
    d.segment_lengths_by_row.push_back(segment_lengths(batch.segment_ids.data() + r * batch.seq, 1, batch.seq));
  return d;
}

at::Tensor Trainer::micro_batch_loss_sum(const DeviceBatch& b) {
  at::Tensor hidden_BTC = model_->hidden_states(b.tokens_BT, b.packing());
  // Logits only where there is a target: a few percent of positions, so the [T, V] logits of
  // the whole row are never formed.
  const at::Tensor mask_BT = b.labels_BT.ne(-100);
  return model_->cross_entropy_sum(hidden_BTC.index({mask_BT}), b.labels_BT.index({mask_BT}));
}

Trainer::StepResult Trainer::train_step() {
  const auto t0 = std::chrono::steady_clock::now();
  StepResult r;
  comm_->reset_traffic();
  if (sharded_) sharded_->reset_traffic();
  Batch batch;
  if (prefetcher_) {
    batch = prefetcher_->next();
    stream_->seek(prefetcher_->next_batch());
  } else {
    batch = stream_->next();
  }
  const c10::Device device = model_->device();
  const DeviceBatch on_device = to_device(batch);
  // Global counts: every rank scales its loss by the target tokens of the whole global batch.
  // A single process knows them already; a round trip through the device would wait for the
  // previous step's optimizer kernels and leave the GPU idle while this step is launched.
  at::Tensor counts = at::tensor(
      {batch.target_tokens, batch.rows * batch.seq - batch.padding_tokens, batch.examples, batch.rows * batch.seq},
      at::kLong);
  if (comm_->distributed()) {
    counts = counts.to(device);
    comm_->all_reduce_sum(counts);
    counts = counts.to(at::kCPU);
  }
  r.target_tokens = counts[0].item<int64_t>();
  r.tokens = counts[1].item<int64_t>();
  r.examples = counts[2].item<int64_t>();
  r.row_tokens = counts[3].item<int64_t>();

  // Forward/backward per micro-batch; dividing by the whole batch's target count makes the
  // accumulated gradient that of the mean loss over every target token of the step.
  const int64_t micro =
      config_.train.micro_batch_rows > 0 ? std::min(config_.train.micro_batch_rows, batch.rows) : batch.rows;
  at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
  for (int64_t start = 0; start < batch.rows; start += micro) {
    const int64_t n = std::min(micro, batch.rows - start);
    at::Tensor part = micro_batch_loss_sum(on_device.rows(start, n));
    if (std::count(config_.train.debug_nonfinite_steps.begin(), config_.train.debug_nonfinite_steps.end(), step_ + 1))
      part = part * std::numeric_limits<float>::quiet_NaN();
    if (sync_) sync_->set_syncing(start + n >= batch.rows);  // communicate on the last micro-step only
    (part / static_cast<double>(std::max<int64_t>(r.target_tokens, 1))).backward();
    model_->release_gathered_weights();
    loss_sum += part.detach();
  }
  if (sync_) sync_->finish();
  if (sharded_) sharded_->finish_gradients();
  comm_->all_reduce_sum(loss_sum);
  std::vector<at::Tensor> params = sharded_ ? std::vector<at::Tensor>{} : model_->parameters();
  const at::Tensor norm = sharded_ ? sharded_->clip_grad_norm(config_.train.clip_grad_norm)
                                   : clip_grad_norm(params, config_.train.clip_grad_norm);
  r.loss = loss_sum.item<double>() / std::max<int64_t>(r.target_tokens, 1);
  r.grad_norm = norm.item<double>();

  if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm)) {
    r.skipped = true;
    ++skipped_total_;
    ++consecutive_nonfinite_;
  } else {
    // The schedule counts training steps; without one the optimizer's own rule applies. Either
    // way the rate logged is the one the optimizer reports it applied.
    const auto lr = config_.schedule_given ? std::optional<double>(config_.schedule.lr_at(step_ + 1)) : std::nullopt;
    r.lr = sharded_ ? sharded_->optimizer_step(lr) : optimizer_->step(lr);
    consecutive_nonfinite_ = 0;
  }
  for (auto& p : params) p.mutable_grad().reset();
  if (sharded_) sharded_->zero_grad();
  ++step_;
  for (double b : comm_->traffic_bytes()) r.comm_bytes += b;
  if (sharded_) r.comm_bytes += sharded_->traffic_bytes();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void Trainer::log_step(const StepResult& r) {
  const double tps = r.tokens / std::max(r.seconds, 1e-9);
  tokens_per_s_ema_ = tokens_per_s_ema_ == 0 ? tps : 0.9 * tokens_per_s_ema_ + 0.1 * tps;
  if (step_ % config_.train.log_every != 0 && step_ != config_.train.max_steps && !r.skipped) return;
  const double eta = (config_.train.max_steps - step_) * r.seconds;
  log_->info("step {}/{} | loss {:.4f} | lr {:.2e} | grad norm {:.3f} | {:.0f} tok/s | ETA {}{}", step_,
             config_.train.max_steps, r.loss, r.lr, r.grad_norm, tokens_per_s_ema_, duration_text(eta),
             r.skipped ? " | SKIPPED (non-finite), " + std::to_string(consecutive_nonfinite_) + " in a row" : "");
  if (!metrics_) return;
  json record = {{"step", step_},
                 {"loss", std::isfinite(r.loss) ? json(r.loss) : json(nullptr)},
                 {"lr", std::isfinite(r.lr) ? json(r.lr) : json(nullptr)},  // none applied to a skipped step
                 {"grad_norm", std::isfinite(r.grad_norm) ? json(r.grad_norm) : json(nullptr)},
                 {"tokens_per_s", tps},
                 {"row_tokens", r.row_tokens},
                 {"step_ms", 1e3 * r.seconds},
                 {"comm_bytes", r.comm_bytes},
                 {"target_tokens", r.target_tokens},
                 {"examples", r.examples},
                 {"skipped", r.skipped},
                 {"skipped_total", skipped_total_}};
  if (model_->device().is_cuda()) record["peak_memory_gib"] = peak_device_memory_gib(model_->device());
  record_metrics(record);
}

void Trainer::record_metrics(const json& record) {
  if (metrics_) metrics_->write(record);
  if (tensorboard_) tensorboard_->add_scalars(tensorboard_scalars(record), record.at("step").get<int64_t>());
}

json Trainer::evaluate() {
  json record = {{"step", step_}, {"kind", "eval"}};
  if (!eval_source_) return record;
  at::NoGradGuard no_grad;
  BatchStream held_out(eval_source_, tokenizer_);
  double loss_sum = 0;
  int64_t targets = 0;
  for (int64_t b = 0; b < config_.eval.loss_batches; ++b) {
    const Batch batch = held_out.next();
    loss_sum += micro_batch_loss_sum(to_device(batch)).item<double>();
    targets += batch.target_tokens;
  }
  if (targets > 0) record["heldout_loss"] = loss_sum / targets;
  if (config_.eval.icl_examples > 0) {
    IclOptions icl;
    icl.k_min = icl.k_max = config_.eval.icl_exemplars_per_class;
    double sum = 0;
    for (const auto& d : eval_source_->datasets()) {
      const int64_t budget =
          config_.eval.icl_max_input_tokens > 0 ? config_.eval.icl_max_input_tokens : config_.data.max_input_tokens;
      const IclTaskResult res =
          evaluate_icl_task(*model_, *tokenizer_, d, eval_source_->pools().heldout, icl,
                            {config_.eval.icl_examples, config_.data.seed + 7, budget, config_.eval.icl_batch_tokens});
      record["icl_accuracy"][d.name] = res.accuracy();
      sum += res.accuracy();
    }
    record["icl_accuracy_mean"] = sum / std::max<size_t>(eval_source_->datasets().size(), 1);
  }
  model_->release_gathered_weights();
  log_->info("eval at step {}: held-out loss {} | symbol-label ICL accuracy {}", step_,
             record.contains("heldout_loss") ? fmt::format("{:.4f}", record["heldout_loss"].get<double>()) : "-",
             record.contains("icl_accuracy") ? record["icl_accuracy"].dump() : "-");
  record_metrics(record);
  return record;
}

// An evaluation that a stop request cuts short: the run goes on to its checkpoint.
void Trainer::evaluate_unless_stopped() {
  try {
    evaluate();
  } catch (const Interrupted& e) {
    log_->info("{}", e.what());
  }
}

// Whether the run stops here. In a multi-process run, a rank that got the signal alone must not
// leave the others waiting in a collective: all ranks decide together, between steps.
bool Trainer::stop_agreed() {
  if (!comm_->distributed()) return stop_requested();
  at::Tensor flag =
      at::full({1}, stop_requested() ? 1.0 : 0.0, at::TensorOptions().dtype(at::kFloat).device(model_->device()));
  comm_->all_reduce_sum(flag);
  return flag.item<double>() > 0;
}

int64_t Trainer::run() {
  install_stop_signal_handlers();
  std::optional<StopDeferral> together;  // batches and evaluations finish; stop_agreed() decides
  if (comm_->distributed()) together.emplace();
  if (config_.eval.every > 0 && step_ == 0) evaluate_unless_stopped();
  if (config_.train.data_workers > 0) {
    const int workers = static_cast<int>(config_.train.data_workers);
    prefetcher_ = std::make_unique<BatchPrefetcher>(*stream_, stream_->next_batch(), workers, 2 * workers);
  }
  bool stop = stop_agreed();
  while (step_ < config_.train.max_steps && !stop) {
    StepResult r;
    try {
      r = train_step();
    } catch (const Interrupted&) {
      break;  // a stop while the batch was being built: it is dropped, and the stream stays before it
    }
    log_step(r);
    if (consecutive_nonfinite_ >= config_.train.max_consecutive_nonfinite) {
      const auto last = latest_checkpoint(run_dir_ / "checkpoints");
      throw Error("training stopped: " + std::to_string(consecutive_nonfinite_) +
                  " consecutive steps had a non-finite loss or gradient (train.max_consecutive_nonfinite = " +
                  std::to_string(config_.train.max_consecutive_nonfinite) + "); the last good checkpoint is " +
                  (last ? last->string() : std::string("none (no checkpoint was written yet)")));
    }
    if (config_.eval.every > 0 && step_ % config_.eval.every == 0 && step_ < config_.train.max_steps)
      evaluate_unless_stopped();
    stop = stop_agreed();
    // No checkpoint in the middle of a run of skipped updates: the last good one stays newest.
    if (config_.train.checkpoint_every > 0 && step_ % config_.train.checkpoint_every == 0 &&
        step_ < config_.train.max_steps && !stop && consecutive_nonfinite_ == 0)
      save();
  }
  if (stop) log_->info("stop requested: checkpointing at step {} and exiting", step_);
  else if (config_.eval.every > 0) evaluate_unless_stopped();
  save();
  return step_;
}

}  // namespace symtune

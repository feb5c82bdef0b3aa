// Training checkpoints: <output_dir>/checkpoints/step_00000123/ holding
//   model/                 the weights in HF layout (config.json, model.safetensors, tokenizer)
//   optimizer.safetensors  Adafactor state, keyed by parameter name
//   trainer_state.json     step, data stream position, counters, format_version
//   COMPLETE               written last: a directory without it is not a checkpoint
// Written into step_XXXXXXXX.partial-<host>-<pid>, every file fsynced, the marker written, then
// renamed into place, so a crash at any moment leaves the previous checkpoints intact and at
// most a .partial folder that resume ignores; the next start or save removes it once its
// writer is gone (never one a live process is writing). Old complete
// checkpoints beyond keep_last are removed only after the new one is in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace symtune {

class Transformer;
class Adafactor;

constexpr int kCheckpointFormatVersion = 1;

// Returns the final directory.
std::filesystem::path save_checkpoint(const std::filesystem::path& checkpoints_dir, int64_t step, Transformer& model,
                                      const Adafactor& optimizer, const nlohmann::json& trainer_state,
                                      const std::filesystem::path& tokenizer_source_dir, int64_t keep_last);

// The pieces a checkpoint writer of another layout (trainer/sharded_checkpoint.h) shares:
// "step_00000123", the staging suffix ".partial-<host>-<pid>" of this process, and the end of
// every save: trainer_state.json and the COMPLETE marker written into the staging folder, then
// renamed into place, and old checkpoints beyond keep_last removed.
std::string checkpoint_step_name(int64_t step);
std::string checkpoint_partial_suffix();
std::filesystem::path publish_checkpoint(const std::filesystem::path& checkpoints_dir,
                                         const std::filesystem::path& staging, int64_t step,
                                         const nlohmann::json& trainer_state, int64_t keep_last);

// Removes the .partial folders whose writer is gone (a process of this host that no longer
// exists); leaves those of live processes and of other hosts. Returns what it removed.
std::vector<std::filesystem::path> remove_stale_partials(const std::filesystem::path& checkpoints_dir);

// The newest complete checkpoint under checkpoints_dir, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& checkpoints_dir);

// Checks the marker and format version; returns trainer_state.json.
nlohmann::json read_trainer_state(const std::filesystem::path& checkpoint_dir);
std::map<std::string, at::Tensor> read_optimizer_state(const std::filesystem::path& checkpoint_dir);

}  // namespace symtune

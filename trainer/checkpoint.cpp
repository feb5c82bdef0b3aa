#include "trainer/checkpoint.h"

#include <signal.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/error.h"
#include "common/file_io.h"
#include "model/hf_checkpoint.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "optim/adafactor.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step_%08lld", static_cast<long long>(step));
  return name;
}

// Complete checkpoints (marker present), oldest first.
std::vector<std::pair<int64_t, fs::path>> complete_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& name : list_directory(dir)) {
    if (name.size() != 13 || name.rfind("step_", 0) != 0) continue;  // skips .partial folders too
    if (!std::all_of(name.begin() + 5, name.end(), ::isdigit)) continue;
    if (!fs::exists(dir / name / "COMPLETE")) continue;
    out.emplace_back(std::stoll(name.substr(5)), dir / name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string this_host() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "localhost";
  return host;
}

// ".partial-<host>-<pid>": who is writing the folder, so that a later start can tell a dead
// writer's leftovers from a live one's work.
std::string partial_suffix() { return ".partial-" + this_host() + "-" + std::to_string(::getpid()); }

}  // namespace

std::vector<fs::path> remove_stale_partials(const fs::path& checkpoints_dir) {
  std::vector<fs::path> removed;
  if (!fs::is_directory(checkpoints_dir)) return removed;
  const std::string host = this_host();
  for (const auto& name : list_directory(checkpoints_dir)) {
    const size_t at = name.find(".partial-");
    if (at == std::string::npos) continue;
    // "<host>-<pid>", or "<pid>" alone as written before the host was recorded.
    const std::string writer = name.substr(at + 9);
    const size_t dash = writer.rfind('-');
    const std::string writer_host = dash == std::string::npos ? host : writer.substr(0, dash);
    const std::string pid_text = dash == std::string::npos ? writer : writer.substr(dash + 1);
    if (writer_host != host || pid_text.empty() || pid_text.size() > 9 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;  // another machine's writer: whether it lives cannot be told from here
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    const bool alive = pid != ::getpid() && (::kill(pid, 0) == 0 || errno == EPERM);
    if (alive) continue;
    remove_tree(checkpoints_dir / name);
    removed.push_back(checkpoints_dir / name);
  }
  return removed;
}

std::string checkpoint_step_name(int64_t step) { return step_name(step); }
std::string checkpoint_partial_suffix() { return partial_suffix(); }

fs::path publish_checkpoint(const fs::path& checkpoints_dir, const fs::path& staging, int64_t step,
                            const json& trainer_state, int64_t keep_last) {
  const fs::path final_dir = checkpoints_dir / step_name(step);
  // Test hook: widen the window between the files and the marker so that kills can be aimed
  // at it (tests/python/test_trainer.py, test_sharding.py).
  if (const char* pause = std::getenv("SYMTUNE_DEBUG_CHECKPOINT_PAUSE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(pause)));
  json state = trainer_state;
  state["format_version"] = kCheckpointFormatVersion;
  state["step"] = step;
  write_text_file_atomically(staging / "trainer_state.json", state.dump(2) + "\n");
  write_text_file_atomically(staging / "COMPLETE", "step " + std::to_string(step) + "\n");
  fsync_directory(staging);
  if (fs::exists(final_dir)) {
    // Re-saving a step (a resumed run ending where the last one stopped): keep the old until
    // the new is complete, then swap.
    const fs::path old = checkpoints_dir / (step_name(step) + ".old" + partial_suffix());
    fs::rename(final_dir, old);
    fs::rename(staging, final_dir);
    remove_tree(old);
  } else {
    fs::rename(staging, final_dir);
  }
  fsync_directory(checkpoints_dir);
  auto all = complete_checkpoints(checkpoints_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i)
    if (all[i].second != final_dir) remove_tree(all[i].second);
  return final_dir;
}

fs::path save_checkpoint(const fs::path& checkpoints_dir, int64_t step, Transformer& model, const Adafactor& optimizer,
                         const json& trainer_state, const fs::path& tokenizer_source_dir, int64_t keep_last) {
  std::error_code ec;
  fs::create_directories(checkpoints_dir, ec);
  if (ec) throw Error(checkpoints_dir.string() + ": cannot create the checkpoint folder: " + ec.message());
  remove_stale_partials(checkpoints_dir);

  const fs::path final_dir = checkpoints_dir / step_name(step);
  const fs::path staging = checkpoints_dir / (step_name(step) + partial_suffix());
  try {
    fs::create_directories(staging);
    SaveOptions save;
    save.dtype = model.dtype() == at::kBFloat16 ? at::kBFloat16 : at::kFloat;
    save.tokenizer_source_dir = tokenizer_source_dir;
    save_pretrained(model, staging / "model", save);

    std::vector<std::pair<std::string, at::Tensor>> tensors;
    int64_t optimizer_step = 0;
    for (auto& [key, value] : optimizer.state_dict()) {
      if (key == "step") optimizer_step = value.item<int64_t>();
      else tensors.emplace_back(key, value);
    }
    write_safetensors(staging / "optimizer.safetensors", tensors,
                      {{"format", "symtune-adafactor"}, {"step", std::to_string(optimizer_step)}});
    return publish_checkpoint(checkpoints_dir, staging, step, trainer_state, keep_last);
  } catch (const fs::filesystem_error& e) {
    remove_tree(staging);
    throw Error(final_dir.string() + ": checkpoint not written: " + e.what());
  } catch (const Error& e) {
    remove_tree(staging);
    throw Error(final_dir.string() + ": checkpoint not written (the previous checkpoints are intact): " + e.what());
  }
}

std::optional<fs::path> latest_checkpoint(const fs::path& checkpoints_dir) {
  auto all = complete_checkpoints(checkpoints_dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

json read_trainer_state(const fs::path& dir) {
  if (!fs::exists(dir / "COMPLETE"))
    throw Error(dir.string() +
                ": not a complete checkpoint (no COMPLETE marker); it was being written when a run "
                "stopped. Resume from another one, or use --resume auto");
  json state;
  try {
    state = json::parse(read_text_file(dir / "trainer_state.json"));
  } catch (const json::exception& e) {
    throw Error((dir / "trainer_state.json").string() + ": not valid JSON: " + e.what());
  }
  if (state.value("format_version", 0) != kCheckpointFormatVersion)
    throw Error((dir / "trainer_state.json").string() + ": format_version " +
                state.value("format_version", json()).dump() + ", this symtune reads " +
                std::to_string(kCheckpointFormatVersion));
  if (!state.contains("step")) throw Error((dir / "trainer_state.json").string() + ": no 'step'");
  return state;
}

std::map<std::string, at::Tensor> read_optimizer_state(const fs::path& dir) {
  auto file = SafetensorsFile::open(dir / "optimizer.safetensors");
  std::map<std::string, at::Tensor> state;
  for (const auto& e : file.entries()) state[e.name] = file.load(e.name);
  auto it = file.metadata().find("step");
  if (it == file.metadata().end()) throw Error(file.path().string() + ": metadata has no optimizer 'step'");
  state["step"] = at::scalar_tensor(std::stoll(it->second), at::kLong);
  return state;
}

}  // namespace symtune

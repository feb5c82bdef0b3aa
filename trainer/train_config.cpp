#include "trainer/train_config.h"

#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"
#include "common/json_keys.h"
#include "common/json_values.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// "train.max_steps=20" -> config["train"]["max_steps"] = 20. The value is JSON when it
// parses as JSON, else a string ("data.tokenizer=/x/t.model").
void apply_override(json& config, const std::string& assignment, const std::string& origin) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set '" + assignment + "': expected key.path=value");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    value = text;
  }
  json* node = &config;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw Error("--set '" + assignment + "': empty key segment");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      break;
    }
    if (!node->contains(part)) (*node)[part] = json::object();
    node = &(*node)[part];
    if (!node->is_object()) throw Error("--set '" + assignment + "': '" + part + "' is not a section in " + origin);
    start = dot + 1;
  }
}

}  // namespace

TrainConfig parse_train_config(json config, const std::string& origin, const std::string& base_dir,
                               const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) apply_override(config, o, origin);
  require_known_keys(config, {"model", "data", "optimizer", "schedule", "train", "eval"}, origin);
  TrainConfig c;

  const json model = config.value("model", json::object());
  require_known_keys(model,
                     {"path", "init_config", "init_seed", "dtype", "device", "activation_checkpointing", "kernels"},
                     origin + ": model");
  read_value(model, "path", c.model.path, origin + ": model");
  if (!c.model.path.empty()) c.model.path = resolve_path(c.model.path, base_dir, origin + ": model.path");
  if (model.contains("init_config")) c.model.init_config = model["init_config"];
  read_value(model, "init_seed", c.model.init_seed, origin + ": model");
  read_value(model, "dtype", c.model.dtype, origin + ": model");
  read_value(model, "device", c.model.device, origin + ": model");
  if (model.contains("activation_checkpointing")) {
    const json& ac = model["activation_checkpointing"];
    if (ac.is_boolean())
      c.model.activation_checkpointing =
          ac.get<bool>() ? ModelSection::Checkpointing::kOn : ModelSection::Checkpointing::kOff;
    else if (ac == "auto") c.model.activation_checkpointing = ModelSection::Checkpointing::kAuto;
    else throw Error(origin + ": model.activation_checkpointing must be true, false or \"auto\", found " + ac.dump());
  }
  if (model.contains("kernels")) {
    const json kernels = model["kernels"];
    const std::string kw = origin + ": model.kernels";
    if (!kernels.is_object()) throw Error(kw + ": expected an object, found " + kernels.dump());
    require_known_keys(kernels, {"attention", "rms_norm", "elementwise", "loss", "loss_chunk_rows"}, kw);
    std::string attention = "auto", rms_norm = "auto", elementwise = "reference", loss = "reference";
    read_value(kernels, "attention", attention, kw);
    read_value(kernels, "rms_norm", rms_norm, kw);
    read_value(kernels, "elementwise", elementwise, kw);
    read_value(kernels, "loss", loss, kw);
    read_value(kernels, "loss_chunk_rows", c.model.kernels.loss_chunk_rows, kw);
    if (c.model.kernels.loss_chunk_rows < 0)
      throw Error(kw + ": 'loss_chunk_rows' must be >= 0 (0 = by vocabulary size)");
    c.model.kernels.loss = parse_loss_kernel(loss, kw + ".loss");
    c.model.kernels.elementwise = parse_elementwise_kernel(elementwise, kw + ".elementwise");
    c.model.kernels.attention = parse_attention_kernel(attention, kw + ".attention");
    c.model.kernels.rms_norm = parse_rms_norm_kernel(rms_norm, kw + ".rms_norm");
  }
  if (c.model.path.empty() == c.model.init_config.is_null())
    throw Error(origin +
                ": model: set exactly one of 'path' (a pretrained HF directory) and 'init_config' (an HF "
                "config.json object for a model symtune initialises)");
  if (c.model.dtype != "auto" && c.model.dtype != "float32" && c.model.dtype != "bfloat16")
    throw Error(origin + ": model.dtype must be auto, float32 or bfloat16, found \"" + c.model.dtype + "\"");

  if (!config.contains("data")) throw Error(origin + ": no 'data' section");
  c.data = parse_data_config(config["data"], origin + ": data", base_dir);
  c.optimizer = parse_adafactor_options(config.value("optimizer", json::object()), origin + ": optimizer");
  if (config.contains("schedule")) {
    c.schedule = parse_schedule(config["schedule"], origin + ": schedule");
    c.schedule_given = true;
    if (c.optimizer.relative_step)
      throw Error(origin +
                  ": a 'schedule' is given but optimizer.relative_step is true (relative steps ignore "
                  "schedules); set optimizer.relative_step to false");
  } else if (!c.optimizer.relative_step && !c.optimizer.lr) {
    throw Error(origin + ": no learning rate: give a 'schedule', optimizer.lr, or optimizer.relative_step: true");
  }

  const json train = config.value("train", json::object());
  const std::string tw = origin + ": train";
  require_known_keys(
      train,
      {"output_dir", "max_steps", "micro_batch_rows", "log_every", "checkpoint_every", "keep_checkpoints",
       "clip_grad_norm", "max_consecutive_nonfinite", "threads", "data_workers", "debug_nonfinite_steps",
       "collective_timeout_s", "bucket_mib", "overlap_allreduce", "log_all_ranks"},
      tw);
  read_value(train, "output_dir", c.train.output_dir, tw);
  c.train.output_dir = resolve_path(c.train.output_dir, fs::current_path(), tw + ".output_dir");
  read_value(train, "max_steps", c.train.max_steps, tw);
  read_value(train, "micro_batch_rows", c.train.micro_batch_rows, tw);
  read_value(train, "log_every", c.train.log_every, tw);
  read_value(train, "checkpoint_every", c.train.checkpoint_every, tw);
  read_value(train, "keep_checkpoints", c.train.keep_checkpoints, tw);
  read_value(train, "clip_grad_norm", c.train.clip_grad_norm, tw);
  read_value(train, "max_consecutive_nonfinite", c.train.max_consecutive_nonfinite, tw);
  read_value(train, "threads", c.train.threads, tw);
  read_value(train, "data_workers", c.train.data_workers, tw);
  read_value(train, "debug_nonfinite_steps", c.train.debug_nonfinite_steps, tw);
  read_value(train, "collective_timeout_s", c.train.collective_timeout_s, tw);
  read_value(train, "bucket_mib", c.train.bucket_mib, tw);
  read_value(train, "overlap_allreduce", c.train.overlap_allreduce, tw);
  read_value(train, "log_all_ranks", c.train.log_all_ranks, tw);
  if (!(c.train.collective_timeout_s > 0)) throw Error(tw + ".collective_timeout_s must be positive");
  if (!(c.train.bucket_mib > 0)) throw Error(tw + ".bucket_mib must be positive");
  if (c.train.data_workers < 0 || c.train.data_workers > 64) throw Error(tw + ".data_workers must be in 0..64");
  if (c.train.max_steps < 1) throw Error(tw + ".max_steps must be >= 1");
  if (c.train.micro_batch_rows < 0) throw Error(tw + ".micro_batch_rows must be >= 0");
  if (c.train.log_every < 1) throw Error(tw + ".log_every must be >= 1");
  if (c.train.checkpoint_every < 0) throw Error(tw + ".checkpoint_every must be >= 0");
  if (c.train.keep_checkpoints < 1) throw Error(tw + ".keep_checkpoints must be >= 1 (the newest is never deleted)");
  if (!(c.train.clip_grad_norm >= 0)) throw Error(tw + ".clip_grad_norm must be >= 0");
  if (c.train.max_consecutive_nonfinite < 1) throw Error(tw + ".max_consecutive_nonfinite must be >= 1");

  const json eval = config.value("eval", json::object());
  const std::string ew = origin + ": eval";
  require_known_keys(eval, {"every", "loss_batches", "icl_examples", "icl_exemplars_per_class"}, ew);
  read_value(eval, "every", c.eval.every, ew);
  read_value(eval, "loss_batches", c.eval.loss_batches, ew);
  read_value(eval, "icl_examples", c.eval.icl_examples, ew);
  read_value(eval, "icl_exemplars_per_class", c.eval.icl_exemplars_per_class, ew);
  if (c.eval.every < 0 || c.eval.loss_batches < 0 || c.eval.icl_examples < 0 || c.eval.icl_exemplars_per_class < 1)
    throw Error(ew + ": every, loss_batches and icl_examples must be >= 0, icl_exemplars_per_class >= 1");
  if (c.eval.every > 0 && c.data.held_out_datasets.empty())
    throw Error(ew + ".every > 0 needs data.held_out_datasets to evaluate on");

  c.resolved = config;
  c.resolved["train"]["output_dir"] = c.train.output_dir;
  if (!c.model.path.empty()) c.resolved["model"]["path"] = c.model.path;
  return c;
}

namespace {
// A config may start from another: {"extends": "base.json", ...} is base.json with this file's
// keys merged over it (RFC 7396 merge patch), so ablations state only what they change.
json read_config_with_bases(const fs::path& path, int depth) {
  if (depth > 8) throw Error(path.string() + ": 'extends' chain deeper than 8 (a cycle?)");
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::parse_error& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("extends")) return j;
  const fs::path base = fs::absolute(path).parent_path() / j["extends"].get<std::string>();
  json merged = read_config_with_bases(base, depth + 1);
  j.erase("extends");
  merged.merge_patch(j);
  return merged;
}
}  // namespace

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_train_config(read_config_with_bases(path, 0), path, fs::absolute(path).parent_path().string(),
                            overrides);
}

}  // namespace symtune

#include "trainer/train_config.h"

#include <filesystem>

#include "common/config_table.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/json_keys.h"
#include "model/model_config.h"

namespace symtune {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Upper bounds keep a typo from turning into a run that cannot start or never ends.
constexpr int64_t kMaxRows = int64_t(1) << 20;

void read_activation_checkpointing(const json& j, ModelSection& m, const FieldContext& ctx) {
  if (!j.contains("activation_checkpointing")) return;
  const json& ac = j["activation_checkpointing"];
  using C = ModelSection::Checkpointing;
  if (ac.is_boolean()) m.activation_checkpointing = ac.get<bool>() ? C::kOn : C::kOff;
  else if (ac == "auto") m.activation_checkpointing = C::kAuto;
  else throw Error(ctx.where + ": 'activation_checkpointing' must be true, false or \"auto\", found " + ac.dump());
}

const ConfigTable<ModelSection>& model_table() {
  using M = ModelSection;
  static const ConfigTable<ModelSection> table =
      ConfigTable<ModelSection>()
          .path("path", &M::path, "HF model directory to fine-tune (set this or init_config)")
          .custom({"init_config", "object", "null", "an HF config.json object",
                   "a model symtune initialises itself (normal(0, 0.02) weights)"},
                  [](const json& j, M& m, const FieldContext& ctx) {
                    if (!j.contains("init_config") || j["init_config"].is_null()) return;  // null = none
                    if (!j["init_config"].is_object())
                      throw Error(ctx.where + ": 'init_config' must be an object or null, found " +
                                  j["init_config"].dump());
                    m.init_config = j["init_config"];
                  })
          .seed("init_seed", &M::init_seed, "seed of the initial weights of an init_config model")
          .custom({"dtype", "string", "\"auto\"", "\"auto\", \"float32\" (\"fp32\"), \"bfloat16\" (\"bf16\")",
                   "auto = bfloat16 on CUDA, float32 on the CPU"},
                  [](const json& j, M& m, const FieldContext& ctx) {
                    std::string name;
                    if (read_value(j, "dtype", name, ctx.where))
                      m.dtype = parse_dtype_choice(name, ctx.where + ".dtype");
                  })
          .custom({"device", "string", "\"auto\"", "\"auto\", \"cpu\", \"cuda\", \"cuda:N\"",
                   "auto = CUDA when there is a GPU; \"cuda\" = each process's own GPU (its local rank)"},
                  [](const json& j, M& m, const FieldContext& ctx) {
                    std::string name;
                    if (read_value(j, "device", name, ctx.where))
                      m.device = parse_device_choice(name, ctx.where + ".device");
                  })
          .custom({"activation_checkpointing", "boolean or \"auto\"", "\"auto\"", "true, false, \"auto\"",
                   "recompute each block in backward; auto = on when a micro-batch's activations would not fit "
                   "in free GPU memory, off on the CPU"},
                  read_activation_checkpointing)
          .custom({"kernels", "object", "{}", "see the model.kernels table", "fast kernels or reference ops"},
                  [](const json& j, M& m, const FieldContext& ctx) {
                    if (j.contains("kernels")) m.kernels = parse_kernel_options(j["kernels"], ctx.where + ".kernels");
                  });
  return table;
}

const ConfigTable<TrainSection>& train_table() {
  using T = TrainSection;
  static const ConfigTable<TrainSection> table =
      ConfigTable<TrainSection>()
          .custom({"output_dir", "path", "\"runs/run\"", "relative to the working directory",
                   "checkpoints/, metrics.jsonl, train.log and the resolved config.json"},
                  [](const json& j, T& t, const FieldContext& ctx) {
                    read_value(j, "output_dir", t.output_dir, ctx.where);
                    t.output_dir = resolve_path(t.output_dir, fs::current_path(), ctx.where + ".output_dir");
                  })
          .integer("max_steps", &T::max_steps, {1, kMaxConfigSteps}, "optimizer steps (paper: up to 4000)")
          .integer("micro_batch_rows", &T::micro_batch_rows, {0, kMaxRows},
                   "rows per forward/backward (gradient accumulation); 0 = the whole per-rank batch")
          .integer("log_every", &T::log_every, {1, kMaxConfigSteps}, "steps between metric lines")
          .integer("checkpoint_every", &T::checkpoint_every, {0, kMaxConfigSteps},
                   "steps between checkpoints; 0 = only at the end")
          .integer("keep_checkpoints", &T::keep_checkpoints, {1, 1'000'000},
                   "newest complete checkpoints kept (the newest is never deleted)")
          .number("clip_grad_norm", &T::clip_grad_norm, {0.0, 1e9}, "global-norm clip; 0 = measure only")
          .integer("max_consecutive_nonfinite", &T::max_consecutive_nonfinite, {1, 1'000'000},
                   "skipped (non-finite) updates in a row before the run stops")
          .integer("threads", &T::threads, {0, 4096}, "CPU intra-op threads; 0 = torch's default")
          .integer("data_workers", &T::data_workers, {0, 64},
                   "threads building the coming batches during the step; 0 = inline")
          .integers("debug_nonfinite_steps", &T::debug_nonfinite_steps, "test hook: these steps' loss is made NaN")
          .number("collective_timeout_s", &T::collective_timeout_s, {0.0, 7 * 86400.0, true},
                  "a collective waiting longer fails the run (a dead or hung rank), seconds")
          .number("bucket_mib", &T::bucket_mib, {0.0, 65536.0, true}, "gradient all-reduce bucket size, MiB")
          .flag("overlap_allreduce", &T::overlap_allreduce, "start each bucket's all-reduce during backward")
          .flag("log_all_ranks", &T::log_all_ranks, "also write train.rank<N>.log for ranks other than 0")
          .flag("tensorboard", &T::tensorboard,
                "write TensorBoard event files to <output_dir>/tb (rank 0; a new file each run segment)")
          .choice("sharding", &T::sharding,
                  {{"none", T::Sharding::kNone}, {"full", T::Sharding::kFull}, {"hybrid", T::Sharding::kHybrid}},
                  "none: every rank holds the whole model; full: weights, gradients and optimizer state split over "
                  "all ranks; hybrid: split within groups of shard_group_size ranks, replicated across groups")
          .integer("shard_group_size", &T::shard_group_size, {0, 1'000'000},
                   "hybrid sharding: ranks per shard group (usually a node's GPUs); 0 = the launcher's ranks per node")
          .flag("reshard_after_forward", &T::reshard_after_forward,
                "sharding: free a block's gathered weights after its forward and gather them again for its backward "
                "(off: keep them, more memory and one all-gather less per block)")
          .flag("prefetch_gather", &T::prefetch_gather,
                "sharding: start the next block's all-gather while the current block computes");
  return table;
}

const ConfigTable<EvalSection>& eval_table() {
  using E = EvalSection;
  static const ConfigTable<EvalSection> table =
      ConfigTable<EvalSection>()
          .integer("every", &E::every, {0, kMaxConfigSteps},
                   "steps between held-out evaluations; 0 = none during training")
          .integer("loss_batches", &E::loss_batches, {0, 1'000'000}, "held-out batches for the loss")
          .integer("icl_examples", &E::icl_examples, {0, 1'000'000},
                   "held-out symbol-label ICL prompts scored per task and evaluation; 0 = none")
          .integer("icl_exemplars_per_class", &E::icl_exemplars_per_class, {1, 64}, "in-context exemplars (paper: 4)")
          .integer("icl_max_input_tokens", &E::icl_max_input_tokens, {0, int64_t(1) << 20},
                   "prompt budget of the ICL prompts; 0 = data.max_input_tokens")
          .integer("icl_batch_tokens", &E::icl_batch_tokens, {1, int64_t(1) << 24},
                   "cached tokens per scoring forward: prompts and candidates of several queries at once; a "
                   "query over it is scored alone");
  return table;
}

// "train.max_steps=20" -> config["train"]["max_steps"] = 20. The value is JSON when it
// parses as JSON, else a string ("data.tokenizer=/x/t.model"). Unknown keys are caught by the
// section tables when the result is read.
void apply_override(json& config, const std::string& assignment, const std::string& origin) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set '" + assignment + "': expected key.path=value");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::out_of_range&) {  // 1e400: JSON, but past a double's range
    throw Error("--set '" + assignment + "': the number does not fit a double");
  } catch (const json::exception&) {
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

// Checks between sections.
void validate_across_sections(const TrainConfig& c, const std::string& origin) {
  if (c.model.path.empty() == c.model.init_config.is_null())
    throw Error(origin +
                ": model: set exactly one of 'path' (a pretrained HF directory) and 'init_config' (an HF "
                "config.json object for a model symtune initialises)");
  if (c.schedule_given && c.optimizer.relative_step)
    throw Error(origin +
                ": a 'schedule' is given but optimizer.relative_step is true (relative steps ignore "
                "schedules); set optimizer.relative_step to false");
  if (!c.schedule_given && !c.optimizer.relative_step && !c.optimizer.lr)
    throw Error(origin + ": no learning rate: give a 'schedule', optimizer.lr, or optimizer.relative_step: true");
  if (c.eval.icl_max_input_tokens > 0 && c.eval.icl_max_input_tokens < 8)
    throw Error(origin + ": eval.icl_max_input_tokens must be 0 (= data.max_input_tokens) or at least 8, found " +
                std::to_string(c.eval.icl_max_input_tokens));
  if (c.eval.every > 0 && c.data.held_out_datasets.empty())
    throw Error(origin + ": eval.every > 0 needs data.held_out_datasets to evaluate on");
}

}  // namespace

const std::vector<std::string>& run_config_sections() {
  static const std::vector<std::string> sections{"model", "data", "optimizer", "schedule", "train", "eval"};
  return sections;
}

TrainConfig parse_train_config(json config, const std::string& origin, const std::string& base_dir,
                               const std::vector<std::string>& overrides) {
  if (!config.is_object())
    throw Error(origin + ": a run config must be a JSON object of sections, found " + config.dump().substr(0, 80));
  for (const auto& o : overrides) apply_override(config, o, origin);
  require_known_keys(config, run_config_sections(), origin);
  auto section = [&](const char* name) {
    return std::pair{config.value(name, json::object()), FieldContext{origin + ": " + name, base_dir}};
  };
  TrainConfig c;
  const auto [model, model_ctx] = section("model");
  model_table().read(model, c.model, model_ctx);
  if (!config.contains("data")) throw Error(origin + ": no 'data' section");
  c.data = parse_data_config(config["data"], origin + ": data", base_dir);
  c.optimizer = parse_adafactor_options(config.value("optimizer", json::object()), origin + ": optimizer");
  if (config.contains("schedule")) {
    c.schedule = parse_schedule(config["schedule"], origin + ": schedule");
    c.schedule_given = true;
  }
  const auto [train, train_ctx] = section("train");
  train_table().read(train, c.train, train_ctx);
  const auto [eval, eval_ctx] = section("eval");
  eval_table().read(eval, c.eval, eval_ctx);
  validate_across_sections(c, origin);

  c.resolved = config;
  c.resolved["train"]["output_dir"] = c.train.output_dir;
  if (!c.model.path.empty()) c.resolved["model"]["path"] = c.model.path;
  return c;
}

// A config may start from another: {"extends": "base.json", ...} is base.json with this file's
// keys merged over it (RFC 7396 merge patch), so ablations state only what they change.
namespace {
json read_config_with_bases(const fs::path& path, int depth) {
  if (depth > 8) throw Error(path.string() + ": 'extends' chain deeper than 8 (a cycle?)");
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::exception& e) {  // parse errors, and numbers past a double's range
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("extends")) return j;
  if (!j["extends"].is_string())
    throw Error(path.string() + ": 'extends' must be a file name, found " + j["extends"].dump());
  const fs::path base = fs::absolute(path).parent_path() / j["extends"].get<std::string>();
  json merged = read_config_with_bases(base, depth + 1);
  j.erase("extends");
  merged.merge_patch(j);
  return merged;
}
}  // namespace

nlohmann::json read_run_config_json(const std::string& path) {
  json j = read_config_with_bases(path, 0);
  require_known_keys(j, run_config_sections(), path);
  return j;
}

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_train_config(read_config_with_bases(path, 0), path, fs::absolute(path).parent_path().string(),
                            overrides);
}

std::string config_reference_markdown() {
  struct Part {
    const char* name;
    const char* about;
    const std::vector<FieldDoc>& fields;
  };
  const Part parts[] = {
      {"model", "Where the weights come from and how the model runs (trainer/train_config.cpp).", model_table().docs()},
      {"model.kernels", "Fast kernels or the reference ops (model/kernel_options.cpp).", kernel_option_fields()},
      {"data", "Datasets, the symbol/instruction mixture and the shapes of the rows (data/data_config.cpp).",
       data_config_fields()},
      {"data.symbols", "The symbol pools (data/symbols.cpp).", symbol_pool_config_fields()},
      {"optimizer", "Adafactor (optim/adafactor_options.cpp; optim/adafactor.h states the update rule).",
       adafactor_option_fields()},
      {"schedule",
       "Learning-rate schedule (optim/lr_schedule.cpp); without one the optimizer's lr or relative step applies.",
       schedule_fields()},
      {"train",
       "Steps, batch split, logging, checkpoints, failure handling, data parallelism (trainer/train_config.cpp).",
       train_table().docs()},
      {"eval", "Held-out evaluation during training (trainer/train_config.cpp).", eval_table().docs()},
  };
  std::string md =
      "# Run config reference\n\n"
      "Every key of a run config (`symtune train --config FILE`), generated by\n"
      "`symtune train --config-reference` from the tables the reader uses, so it cannot drift from the\n"
      "code. A value outside its range is refused with the key, the value and the range; an unknown key\n"
      "is refused with the nearest valid one. `--set key.path=value` overrides any key;\n"
      "`\"extends\": \"base.json\"` starts from another config. Each section's table is declared in the\n"
      "file named under its heading.\n";
  for (const Part& p : parts)
    md += std::string("\n## ") + p.name + "\n\n" + p.about + "\n\n" + reference_markdown(p.fields);
  return md;
}

ModelConfig model_config_of(const ModelSection& model) {
  return model.path.empty() ? parse_model_config(model.init_config.dump(), "model.init_config")
                            : load_model_config(fs::path(model.path) / "config.json");
}

}  // namespace symtune

// symtune train: fine-tune a model as a run config says.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "model/model_config.h"
#include "trainer/launch_env.h"
#include "trainer/memory_plan.h"
#include "trainer/sharded_training.h"
#include "trainer/trainer.h"

namespace symtune::cli {
namespace {

// What each rank of a run on `ranks` ranks (`per_node` a node) would hold, without starting it.
void print_memory_plan(const TrainConfig& config, int64_t ranks, int64_t per_node) {
  const ModelConfig mc = model_config_of(config.model);
  const c10::ScalarType dtype = config.model.dtype == DtypeChoice::kFloat32 ? c10::kFloat : c10::kBFloat16;
  const bool checkpointing = config.model.activation_checkpointing != ModelSection::Checkpointing::kOff;
  const int64_t group = shard_group_size_for(config.train, ranks, per_node);
  const MemoryPlan plan = plan_training_memory(mc, dtype, config, ranks, checkpointing, group);
  std::cout << mc.architecture_name << ", " << mc.num_parameters() << " parameters, " << c10::toString(dtype) << ", "
            << ranks << " rank(s), shard group of " << group << ", activation checkpointing "
            << (checkpointing ? "on" : "off") << "\nper rank: " << plan.describe() << "\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Fine-tune a model with symbol tuning and instruction tuning");
  auto config = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto resume = std::make_shared<std::string>();
  auto reference = std::make_shared<bool>(false);
  auto* config_option =
      cmd->add_option("--config", *config, "Run config (JSON: model, data, optimizer, schedule, train, eval)");
  cmd->add_flag("--config-reference", *reference,
                "Print every config key with its type, default, range and meaning (markdown) and exit")
      ->excludes(config_option);
  cmd->add_option("--set", *overrides, "Override a config value: key.path=value (repeatable), e.g. train.max_steps=20");
  cmd->add_option("--resume", *resume,
                  "'auto' = the newest complete checkpoint in the run's output_dir (fresh start if none), or a "
                  "checkpoint directory");
  auto plan_ranks = std::make_shared<int64_t>(0);
  auto plan_per_node = std::make_shared<int64_t>(8);
  cmd->add_option("--memory-plan", *plan_ranks,
                  "Print the memory plan per rank of this config on this many ranks (GPU dtype: bfloat16 unless "
                  "float32 is set) and exit, starting nothing")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--ranks-per-node", *plan_per_node, "With --memory-plan: ranks per node (hybrid's default group)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->capture_default_str();
  cmd->callback([=] {
    if (*plan_ranks > 0) {
      if (config->empty()) throw Error("train --memory-plan: --config is required");
      print_memory_plan(load_train_config(*config, *overrides), *plan_ranks, *plan_per_node);
      return;
    }
    if (*reference) {
      std::cout << config_reference_markdown();
      return;
    }
    if (config->empty()) throw Error("train: --config is required (or --config-reference)");
    const LaunchEnv env = read_launch_env();
    try {
      Trainer trainer(load_train_config(*config, *overrides), *resume);
      trainer.run();
    } catch (const Error& e) {
      // In a multi-process run every message says which rank it comes from.
      if (env.world_size > 1) throw Error("rank " + std::to_string(env.rank) + ": " + e.what());
      throw;
    }
  });
}

}  // namespace symtune::cli

// symtune train: fine-tune a model as a run config says.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "trainer/launch_env.h"
#include "trainer/trainer.h"

namespace symtune::cli {

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
  cmd->callback([=] {
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

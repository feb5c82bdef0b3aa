// symtune train: fine-tune a model as a run config says.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "trainer/trainer.h"

namespace symtune::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Fine-tune a model with symbol tuning and instruction tuning");
  auto config = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto resume = std::make_shared<std::string>();
  cmd->add_option("--config", *config, "Run config (JSON: model, data, optimizer, schedule, train, eval)")->required();
  cmd->add_option("--set", *overrides, "Override a config value: key.path=value (repeatable), e.g. train.max_steps=20");
  cmd->add_option("--resume", *resume,
                  "'auto' = the newest complete checkpoint in the run's output_dir (fresh start if none), or a "
                  "checkpoint directory");
  cmd->callback([=] {
    Trainer trainer(load_train_config(*config, *overrides), *resume);
    trainer.run();
  });
}

}  // namespace symtune::cli

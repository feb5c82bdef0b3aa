// The subcommands of the symtune binary. Each add_*_command registers its options and a
// callback on `app`; the callbacks call the library and throw symtune::Error on bad input.
#pragma once

namespace CLI {
class App;
}

namespace symtune::cli {

void add_convert_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);  // eval and compare
void add_ablate_command(CLI::App& app);
void add_reproduce_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);

}  // namespace symtune::cli

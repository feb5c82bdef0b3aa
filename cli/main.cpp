// symtune: a thin command line over the library. Every error that reaches here is printed
// once, on stderr, and turns into exit status 1.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/stop_signal.h"

int main(int argc, char** argv) {
  CLI::App app{
      "symtune: fine-tune decoder-only language models with symbol tuning.\n"
      "Models are Hugging Face directories (config.json + safetensors + tokenizer)."};
  app.require_subcommand(1);
  symtune::cli::add_convert_command(app);
  symtune::cli::add_export_command(app);
  symtune::cli::add_generate_command(app);
  symtune::cli::add_inspect_command(app);
  symtune::cli::add_data_command(app);
  symtune::cli::add_train_command(app);
  symtune::cli::add_eval_command(app);
  symtune::cli::add_ablate_command(app);
  symtune::cli::add_reproduce_command(app);
  symtune::cli::add_tokenize_command(app);
  // The first SIGTERM/SIGINT asks to stop (common/stop_signal.h); a second one kills.
  symtune::install_stop_signal_handlers();
  try {
    symtune::cli::record_command_line(argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const symtune::Interrupted& e) {
    std::fprintf(stderr, "stopped: %s (nothing partial was left behind)\n", e.what());
    return 128 + e.signal();
  } catch (const symtune::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error (torch): %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

// The evaluation options shared by `symtune eval`, `symtune ablate` and `symtune reproduce`:
// registered once, read once, so the three commands spell and bound them alike.
#pragma once

#include <string>

#include "eval/suites.h"

namespace CLI {
class App;
}

namespace symtune::cli {

struct EvalCommandOptions {
  EvalOptions options;  // defaults under $SYMTUNE_SHARED_DATA when it is set
  std::string tasks, flip_percents = "0,50,100", device = "auto", dtype = "auto";
  EvalCommandOptions();
};

// --data --tasks --list-functions -n -k --max-input-tokens --batch-tokens --seed --flip-percents
// --list-function-tasks --open-task-queries --device --dtype.
void add_eval_options(CLI::App& cmd, EvalCommandOptions& o);

// The options with --tasks and --flip-percents applied; Error naming the flag on a bad value.
EvalOptions resolved_eval_options(const EvalCommandOptions& o);

}  // namespace symtune::cli

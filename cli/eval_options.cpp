#include "cli/eval_options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/options.h"
#include "common/error.h"
#include "eval/evaluate_model.h"

namespace symtune::cli {

EvalCommandOptions::EvalCommandOptions() {
  if (const char* env = std::getenv("SYMTUNE_SHARED_DATA")) {
    options.classification_dir = std::string(env) + "/classification";
    options.list_functions = std::string(env) + "/list_functions/list_functions.jsonl";
  }
}

void add_eval_options(CLI::App& cmd, EvalCommandOptions& o) {
  EvalOptions& e = o.options;
  cmd.add_option("--data", e.classification_dir,
                 "Held-out classification datasets folder (default $SYMTUNE_SHARED_DATA/classification), or "
                 "builtin:synthetic");
  cmd.add_option("--tasks", o.tasks, "Held-out tasks, comma-separated (default subj,emotion,hate_speech,sms_spam)");
  cmd.add_option("--list-functions", e.list_functions, "list_functions.jsonl (default under $SYMTUNE_SHARED_DATA)");
  cmd.add_option("-n,--examples", e.examples_per_task, "Queries per task (paper: 100)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), kMaxEvalExamples));
  cmd.add_option("-k,--exemplars", e.exemplars_per_class, "In-context exemplars per class (paper: 4)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(64)));
  cmd.add_option("--max-input-tokens", e.max_input_tokens, "Prompt budget")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(8), kMaxPromptTokens));
  cmd.add_option("--batch-tokens", e.scoring_batch_tokens,
                 "Cached tokens per scoring forward: several queries at once where they fit; a query over it is "
                 "scored alone")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  cmd.add_option("--seed", e.seed, "Seed of every draw")->capture_default_str();
  cmd.add_option("--flip-percents", o.flip_percents, "Flipped suite: shares of exemplars flipped, in percent")
      ->capture_default_str();
  cmd.add_option("--list-function-tasks", e.list_function_tasks, "The first N list functions (0 = all 250)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(0), kMaxEvalExamples));
  cmd.add_option("--open-task-queries", e.open_task_queries,
                 "Queries per list function or Turing concept (0 = --examples)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(0), kMaxEvalExamples));
  cmd.add_option("--device", o.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd.add_option("--dtype", o.dtype, "float32, bfloat16 or auto (bf16 on CUDA and on CPUs with AVX-512 BF16 or AMX)")
      ->capture_default_str();
}

EvalOptions resolved_eval_options(const EvalCommandOptions& o) {
  EvalOptions e = o.options;
  if (!o.tasks.empty()) e.tasks = split_commas(o.tasks);
  e.flip_percents.clear();
  for (const auto& p : split_commas(o.flip_percents)) {
    char* end = nullptr;
    const long v = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || v < 0 || v > 100)
      throw Error("--flip-percents: '" + p + "' is not a whole percentage in [0, 100]");
    e.flip_percents.push_back(v);
  }
  e.symbols.word_list_required = false;
  return e;
}

}  // namespace symtune::cli

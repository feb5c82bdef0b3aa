// The evaluation suites of `symtune eval` (Wei et al. 2023, section 5):
//   icl             held-out classification tasks in context, k exemplars per class, in four
//                   settings: {no instruction, instruction} x {relevant natural labels, symbols
//                   from the held-out pool}; rank classification over the candidate labels
//   flipped         natural labels permuted with no fixed point, shown on a share of the
//                   exemplars (flip_percents, one setting "flipped_P" each) and scored against
//                   the permuted target: following the exemplars against prior knowledge, as a
//                   curve over the share (Wei et al. 2023, section 6)
//   list_functions  BIG-bench's 250 list functions, exact match of the generated output list
//   turing_concepts simple Turing concepts on bit strings (eval/open_tasks.h), exact match
// Every draw is seeded: the same checkpoint gives the same report.
// Must not include trainer/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/symbols.h"
#include "data/tokenizer.h"

namespace symtune {

class Transformer;

struct EvalOptions {
  std::string classification_dir;  // folder of datasets, or "builtin:synthetic"
  std::vector<std::string> tasks{"subj", "emotion", "hate_speech", "sms_spam"};
  std::string list_functions;                      // list_functions.jsonl
  int64_t examples_per_task = 100;                 // paper: at most 100 test examples per task
  int64_t exemplars_per_class = 4;                 // paper: 4
  int64_t open_task_exemplars = 6;                 // input/output pairs shown for list functions and concepts
  int64_t max_input_tokens = 1024;                 // longer prompts lose exemplars from the front
  int64_t scoring_batch_tokens = 8192;             // cached tokens per scoring forward (eval/icl_scoring.h)
  std::vector<int64_t> flip_percents{0, 50, 100};  // the flipped suite's settings
  int64_t list_function_tasks = 0;                 // the first N of the 250 list functions; 0 = all
  int64_t open_task_queries = 0;                   // queries per list function or concept; 0 = examples_per_task
  uint64_t seed = 0;
  SymbolPoolConfig symbols;
};

const std::vector<std::string>& eval_suite_names();

// {"suite", "settings": {name: {"tasks": {task: {"accuracy", "correct", "n"}}, "mean"}}}
nlohmann::json run_eval_suite(const std::string& suite, Transformer& model, const Tokenizer& tokenizer,
                              const EvalOptions& options);

}  // namespace symtune

#include "eval/suites.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cstdio>
#include <map>

#include "common/error.h"
#include "common/progress.h"
#include "common/stop_signal.h"
#include "data/batches.h"
#include "data/mixture.h"
#include "data/prompts.h"
#include "eval/icl_scoring.h"
#include "eval/open_tasks.h"
#include "eval/statistics.h"
#include "model/generate.h"
#include "model/transformer.h"

namespace symtune {
using json = nlohmann::json;

const std::vector<std::string>& eval_suite_names() {
  static const std::vector<std::string> names{"icl", "flipped", "list_functions", "turing_concepts"};
  return names;
}

namespace {

// Per task: accuracy with n, skips, its Wilson interval and the per-draw outcomes (for paired
// comparisons); per setting: the mean over tasks with a bootstrap interval.
json summarise(const std::map<std::string, IclTaskResult>& results, uint64_t seed) {
  json out = {{"tasks", json::object()}};
  std::vector<std::string> outcomes;
  for (const auto& [task, r] : results) {
    const Interval ci = wilson_interval(r.correct, r.examples);
    out["tasks"][task] = {{"accuracy", r.accuracy()}, {"correct", r.correct},          {"n", r.examples},
                          {"skipped", r.skipped},     {"interval", {ci.low, ci.high}}, {"outcomes", r.outcomes}};
    outcomes.push_back(r.outcomes);
  }
  const MeanEstimate mean = mean_with_interval(outcomes, 2000, seed);
  out["mean"] = mean.mean;
  out["mean_interval"] = {mean.interval.low, mean.interval.high};
  return out;
}

std::vector<ClassificationDataset> held_out_datasets(const EvalOptions& o) {
  if (o.classification_dir.empty())
    throw Error("eval: the icl and flipped suites need a classification folder (--data)");
  DataConfig c;
  c.classification_dir = o.classification_dir;
  std::vector<ClassificationDataset> out;
  for (const auto& t : o.tasks) {
    out.push_back(load_dataset(c, t));
    IclOptions check;
    check.k_min = check.k_max = o.exemplars_per_class;
    check_icl_ready(out.back(), check);
    if (out.back().test.empty()) throw Error("eval: dataset '" + t + "' has no test split");
  }
  return out;
}

struct IclSetting {
  std::string name;
  LabelMode labels;
  bool instruction;
  double flip_fraction = 1.0;
};

// icl: {no instruction, instruction} x {natural labels, held-out symbols}; flipped: one setting
// per share of flipped exemplars.
std::vector<IclSetting> icl_settings(const std::string& suite, const EvalOptions& o) {
  if (suite == "icl")
    return {{"natural_labels", LabelMode::kNatural, false},
            {"natural_labels+instruction", LabelMode::kNatural, true},
            {"symbols", LabelMode::kSymbols, false},
            {"symbols+instruction", LabelMode::kSymbols, true}};
  std::vector<IclSetting> settings;
  for (int64_t percent : o.flip_percents) {
    if (percent < 0 || percent > 100)
      throw Error("eval: a flip percentage must be in [0, 100], found " + std::to_string(percent));
    settings.push_back({"flipped_" + std::to_string(percent), LabelMode::kFlipped, false, percent / 100.0});
  }
  if (settings.empty()) throw Error("eval: the flipped suite needs at least one flip percentage");
  return settings;
}

// Token ids whose text contains a newline: generation of an answer line stops there.
std::vector<int64_t> newline_ids(const Tokenizer& tok) {
  std::vector<int64_t> ids;
  for (int64_t id = 0; id < tok.vocab_size(); ++id)
    if (tok.decode({id}).find('\n') != std::string::npos) ids.push_back(id);
  return ids;
}

// Queries asked of each open task, and the exemplars shown before them.
int64_t queries_per_open_task(const EvalOptions& o) {
  return o.open_task_queries > 0 ? o.open_task_queries : o.examples_per_task;
}
size_t exemplars_shown(const OpenTask& task, const EvalOptions& o) {
  return std::min<size_t>(static_cast<size_t>(o.open_task_exemplars), task.examples.size() - 1);
}

// The queries run_open_task asks of `task`: the examples after those shown, up to the per-task count.
int64_t open_task_queries(const OpenTask& task, const EvalOptions& o) {
  return std::min<int64_t>(queries_per_open_task(o),
                           static_cast<int64_t>(task.examples.size() - exemplars_shown(task, o)));
}

IclTaskResult run_open_task(Transformer& model, const Tokenizer& tok, const OpenTask& task, const EvalOptions& o,
                            const std::vector<int64_t>& stop, bool is_list, Progress& progress) {
  IclTaskResult r;
  r.task = task.id;
  const size_t shown = exemplars_shown(task, o);
  const size_t end = shown + static_cast<size_t>(open_task_queries(task, o));
  for (size_t q = shown; q < end; ++q, progress.advance()) {
    throw_if_stop_requested("eval: " + task.id);
    std::string prompt;
    for (size_t i = 0; i < shown; ++i)
      prompt += "Input: " + task.examples[i].first + "\nOutput: " + task.examples[i].second + "\n\n";
    prompt += "Input: " + task.examples[q].first + "\nOutput:";
    std::vector<int64_t> ids;
    if (tok.special().bos && tok.add_bos()) ids.push_back(*tok.special().bos);
    for (int64_t id : tok.encode(prompt)) ids.push_back(id);
    if (static_cast<int64_t>(ids.size()) > o.max_input_tokens) {
      ++r.skipped;
      r.outcomes += '-';
      continue;
    }
    GenerateOptions g;
    g.max_new_tokens = is_list ? 48 : 24;
    g.stop_ids = stop;
    if (tok.special().eos) g.stop_ids.push_back(*tok.special().eos);
    const std::string text = tok.decode(generate(model, ids, g));
    bool correct;
    if (is_list) {
      const auto got = parse_int_list(text), want = parse_int_list(task.examples[q].second);
      correct = got && want && *got == *want;
    } else {
      correct = first_word(text) == task.examples[q].second;
    }
    ++r.examples;
    r.correct += correct;
    r.outcomes += correct ? '1' : '0';
  }
  return r;
}

}  // namespace

json run_eval_suite(const std::string& suite, Transformer& model, const Tokenizer& tok, const EvalOptions& o) {
  at::NoGradGuard no_grad;
  json report = {{"suite", suite}, {"settings", json::object()}};
  if (suite == "icl" || suite == "flipped") {
    const auto datasets = held_out_datasets(o);
    const SymbolPools pools = build_symbol_pools(o.symbols);
    const auto settings = icl_settings(suite, o);
    int64_t prompts = 0;
    for (const auto& d : datasets)
      prompts += std::min<int64_t>(o.examples_per_task, static_cast<int64_t>(d.test.size()));
    Progress progress("eval " + suite, "prompts", prompts * static_cast<int64_t>(settings.size()));
    for (const auto& s : settings) {
      std::map<std::string, IclTaskResult> results;
      for (const auto& d : datasets) {
        IclOptions icl;
        icl.k_min = icl.k_max = o.exemplars_per_class;
        icl.labels = s.labels;
        icl.with_instruction = s.instruction;
        icl.flip_fraction = s.flip_fraction;
        const int64_t n = std::min<int64_t>(o.examples_per_task, static_cast<int64_t>(d.test.size()));
        results[d.name] = evaluate_icl_task(model, tok, d, pools.heldout, icl,
                                            {n, o.seed, o.max_input_tokens, o.scoring_batch_tokens, &progress});
      }
      report["settings"][s.name] = summarise(results, o.seed);
    }
  } else if (suite == "list_functions" || suite == "turing_concepts") {
    const std::vector<int64_t> stop = newline_ids(tok);
    std::map<std::string, IclTaskResult> results;
    const bool is_list = suite == "list_functions";
    std::vector<OpenTask> tasks;
    if (is_list) {
      if (o.list_functions.empty()) throw Error("eval: the list_functions suite needs --list-functions FILE");
      tasks = load_list_functions(o.list_functions);
      if (o.list_function_tasks > 0 && static_cast<int64_t>(tasks.size()) > o.list_function_tasks)
        tasks.resize(static_cast<size_t>(o.list_function_tasks));
    } else {
      for (const auto& name : turing_concept_names())
        tasks.push_back(make_turing_concept_task(name, o.open_task_exemplars + queries_per_open_task(o), o.seed));
    }
    int64_t queries = 0;
    for (const auto& task : tasks) queries += open_task_queries(task, o);
    Progress progress("eval " + suite, "queries", queries);
    for (const auto& task : tasks) results[task.id] = run_open_task(model, tok, task, o, stop, is_list, progress);
    json s = summarise(results, o.seed);
    // 250 list functions: keep the per-task detail but report the mean prominently.
    report["settings"]["exact_match"] = s;
  } else {
    throw Error("eval: unknown suite '" + suite + "' (icl, flipped, list_functions, turing_concepts)");
  }
  return report;
}

}  // namespace symtune

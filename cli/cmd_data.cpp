// symtune data preview | stats | batches: look at what the data pipeline makes from a config,
// or write the exact token batches a run trains on (to replay them in another trainer).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/run_config.h"
#include "common/file_io.h"
#include "data/batches.h"

namespace symtune::cli {

namespace {

void print_histogram(const char* what, const std::map<int, int64_t>& hist, int64_t total) {
  std::printf("%s length (tokens):\n", what);
  for (const auto& [bucket, count] : hist)
    std::printf("  %6lld-%-6lld %8lld  %5.1f%%\n", 1LL << bucket, (2LL << bucket) - 1, (long long)count,
                100.0 * count / std::max<int64_t>(total, 1));
}

void preview(const std::string& config_path, int64_t n) {
  const auto config = load_run_config(config_path);
  const DataConfig data = data_config_from(config, config_path);
  auto tokenizer = tokenizer_from(config, data, config_path);
  ExampleSource source(data);
  for (int64_t i = 0; i < n; ++i) {
    const TextExample ex = source.example(static_cast<uint64_t>(i), 0);
    const TokenizedExample tok = tokenize_example(ex, *tokenizer, data.max_input_tokens, data.max_target_tokens);
    std::printf("=== example %lld: %s from %s | %zu exemplars, %d dropped | prompt %zu tokens, target %zu tokens%s\n",
                (long long)i, ex.kind.c_str(), ex.source.c_str(), ex.exemplars.size(), tok.exemplars_dropped,
                tok.prompt.size(), tok.target.size(),
                tok.unusable ? " | UNUSABLE (the query and one exemplar per class do not fit)" : "");
    std::printf("%s", ex.input(tok.kept).c_str());
    std::printf("\033[1m%s\033[0m\n", ex.target.c_str());
  }
}

void stats(const std::string& config_path, int64_t rows) {
  const auto config = load_run_config(config_path);
  const DataConfig data = data_config_from(config, config_path);
  auto tokenizer = tokenizer_from(config, data, config_path);
  auto source = std::make_shared<ExampleSource>(data);
  std::printf("symbol pools: %zu tuning, %zu held-out symbols (words from %s, %lld usable)\n",
              source->pools().tuning.size(), source->pools().heldout.size(), source->pools().word_source.c_str(),
              (long long)source->pools().words_read);
  std::printf("symbol-tuning share: %.1f%%\n", 100 * data.symbol_fraction);
  std::printf("%-28s %10s %10s\n", "symbol-tuning source", "weight", "examples");
  for (const auto& s : source->symbol_sources())
    std::printf("%-28s %9.2f%% %10lld\n", s.name.c_str(), 100 * s.weight, (long long)s.examples);
  std::printf("%-28s %10s %10s\n", "instruction source", "weight", "examples");
  for (const auto& s : source->instruction_sources())
    std::printf("%-28s %9.2f%% %10lld\n", s.name.c_str(), 100 * s.weight, (long long)s.examples);

  BatchStream stream(source, tokenizer);
  StreamCounters c;
  int64_t tokens = 0, padding = 0;
  for (int64_t r = 0; r < rows; ++r) {
    Batch row = stream.row(static_cast<uint64_t>(r), &c);
    const int64_t width = data.pack ? data.row_tokens() : row.seq;
    tokens += width;
    padding += width - row.seq;
  }
  std::printf("\nover %lld rows (%s, %lld tokens each): %lld examples, %.2f per row\n", (long long)rows,
              data.pack ? "packed" : "one example per row", (long long)data.row_tokens(), (long long)c.examples,
              double(c.examples) / std::max<int64_t>(rows, 1));
  std::printf("  %-12s %8s %6s %8s %6s %12s %6s\n", "kind", "rows", "", "examples", "", "tokens", "");
  int64_t real_tokens = 0;
  for (const auto& [kind, t] : c.tokens_by_kind) real_tokens += t;
  for (const auto& [kind, count] : c.by_kind)
    std::printf("  %-12s %8lld %5.1f%% %8lld %5.1f%% %12lld %5.1f%%\n", kind.c_str(), (long long)c.rows_by_kind[kind],
                100.0 * c.rows_by_kind[kind] / c.rows, (long long)count, 100.0 * count / c.examples,
                (long long)c.tokens_by_kind[kind], 100.0 * c.tokens_by_kind[kind] / std::max<int64_t>(real_tokens, 1));
  std::printf("by source:\n");
  for (const auto& [src, count] : c.by_source)
    std::printf("  %-26s %8lld  %5.1f%%\n", src.c_str(), (long long)count, 100.0 * count / c.examples);
  print_histogram("prompt", c.prompt_length_log2, c.examples);
  print_histogram("target", c.target_length_log2, c.examples);
  std::printf("longest prompt %lld tokens (limit %lld), longest target %lld tokens (limit %lld)\n",
              (long long)c.longest_prompt, (long long)data.max_input_tokens, (long long)c.longest_target,
              (long long)data.max_target_tokens);
  std::printf(
      "truncation: %lld prompts lost exemplars (%lld exemplars in all), %lld targets cut, %lld examples "
      "unusable (the query and one exemplar per class do not fit)\n",
      (long long)c.prompts_with_dropped_exemplars, (long long)c.exemplars_dropped, (long long)c.targets_truncated,
      (long long)c.unusable_examples);
  std::printf("tokens: %lld in rows, %lld targets (%.1f%% of tokens carry loss), padding %.1f%%\n", (long long)tokens,
              (long long)c.target_tokens, 100.0 * c.target_tokens / std::max<int64_t>(tokens, 1),
              100.0 * padding / std::max<int64_t>(tokens, 1));
}

// One JSON line per global batch: the arrays of data/batches.h's Batch, row-major [rows, seq].
void dump_batches(const std::string& config_path, int64_t first, int64_t n, const std::string& out) {
  const auto config = load_run_config(config_path);
  const DataConfig data = data_config_from(config, config_path);
  auto tokenizer = tokenizer_from(config, data, config_path);
  BatchStream stream(std::make_shared<ExampleSource>(data), tokenizer);
  stream.seek(static_cast<uint64_t>(first));
  std::string text;
  for (int64_t i = 0; i < n; ++i) {
    const Batch b = stream.next();
    nlohmann::json line = {{"batch", first + i},
                           {"rows", b.rows},
                           {"seq", b.seq},
                           {"tokens", b.tokens},
                           {"position_ids", b.position_ids},
                           {"segment_ids", b.segment_ids},
                           {"labels", b.labels},
                           {"target_tokens", b.target_tokens},
                           {"padding_tokens", b.padding_tokens}};
    text += line.dump() + "\n";
  }
  write_text_file_atomically(out, text);
  std::printf("%lld batches (from %lld) written to %s\n", (long long)n, (long long)first, out.c_str());
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Inspect the symbol-tuning / instruction-tuning data a config makes");
  cmd->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto n = std::make_shared<int64_t>(5);
  auto* p = cmd->add_subcommand("preview", "Print examples as text (target in bold) with their token counts");
  p->add_option("--config", *config, "Run config (JSON with a 'data' section)")->required();
  p->add_option("-n", *n, "Examples to print")->capture_default_str()->check(CLI::PositiveNumber);
  p->callback([=] { preview(*config, *n); });
  auto rows = std::make_shared<int64_t>(2000);
  auto* s = cmd->add_subcommand("stats", "Mixture counts, length histograms, truncation and packing over N rows");
  s->add_option("--config", *config, "Run config (JSON with a 'data' section)")->required();
  s->add_option("-n,--rows", *rows, "Rows to build")->capture_default_str()->check(CLI::PositiveNumber);
  s->callback([=] { stats(*config, *rows); });
  auto first = std::make_shared<int64_t>(0);
  auto out = std::make_shared<std::string>();
  auto* b = cmd->add_subcommand("batches",
                                "Write the global batches a run trains on, one JSON line each (token ids, "
                                "positions, segment ids, labels = next token on targets, else -100)");
  b->add_option("--config", *config, "Run config (JSON with a 'data' section)")->required();
  b->add_option("-n", *n, "Batches to write")->capture_default_str()->check(CLI::PositiveNumber);
  b->add_option("--first", *first, "Index of the first batch (batch b is trained on in step b + 1)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  b->add_option("--out", *out, "Output file (.jsonl)")->required();
  b->callback([=] { dump_batches(*config, *first, *n, *out); });
}

}  // namespace symtune::cli

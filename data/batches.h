// From text examples to token rows: tokenization to the paper's shapes and packing, with a
// resumable, rank-independent batch stream.
//
// Layout of one example: [BOS] prompt target [EOS]. The prompt (BOS included) is at most
// max_input_tokens: whole exemplars are dropped from the front until it fits, the query never
// is (an example whose query alone is too long is not used, and counted). The target (EOS
// included) is at most max_target_tokens, cut at the end (counted). The loss is on the
// target tokens and EOS only.
//
// Rows: with packing, row r holds examples (r, 0), (r, 1), ... of the ExampleSource while they
// fit in max_input + max_target tokens, trying pack_fill_attempts more for leftover space,
// then padding. Each example keeps its own positions (from 0) and segment id, which the
// model's packed attention honours. Without packing a row is one example, and a batch is
// padded to its longest row. Row r depends on nothing but (seed, r), so global batch b is rows
// [b R, (b+1) R) whatever the number of ranks; rank k of W takes the k-th of W equal slices.
// The stream's whole state is the index of the next batch.
// Must not include model/, optim/ or trainer/; no torch here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/mixture.h"
#include "data/tokenizer.h"

namespace symtune {

struct TokenizedExample {
  std::vector<int32_t> prompt;  // BOS + prompt
  std::vector<int32_t> target;  // target + EOS
  std::vector<bool> kept;       // per exemplar: still in the prompt
  int32_t exemplars_kept = 0, exemplars_dropped = 0;
  bool target_truncated = false;
  // The prompt cannot fit max_input_tokens: the query alone is too long, or a classification
  // prompt would have to lose every exemplar of some class (then the query's symbol might never
  // appear, and the target could not be inferred). Such examples are skipped and counted.
  bool unusable = false;
};

// Cuts the prompt to max_input tokens by dropping exemplars from the front, except the last
// exemplar of any class; cuts the target to max_target (EOS included).

TokenizedExample tokenize_example(const TextExample& example, const Tokenizer& tokenizer, int64_t max_input_tokens,
                                  int64_t max_target_tokens);

// A batch of rows, flattened row-major [rows, seq]. labels[t] is the token the model must
// predict at position t (the next token when it is a target token of the same example), or -100.
struct Batch {
  int64_t rows = 0, seq = 0;
  std::vector<int64_t> tokens, position_ids, segment_ids, labels;
  int64_t examples = 0, target_tokens = 0, padding_tokens = 0;
};

// Counters over what the stream produced, for `symtune data stats` and the trainer's log.
struct StreamCounters {
  int64_t examples = 0, rows = 0, tokens = 0, padding_tokens = 0, target_tokens = 0;
  int64_t exemplars_dropped = 0, prompts_with_dropped_exemplars = 0, targets_truncated = 0, unusable_examples = 0;
  std::map<std::string, int64_t> by_kind, by_source;            // examples
  std::map<std::string, int64_t> rows_by_kind, tokens_by_kind;  // rows are homogeneous in kind
  // Histograms of prompt and target lengths in tokens, by power-of-two bucket: key b counts
  // lengths in [2^b, 2^(b+1)).
  std::map<int, int64_t> prompt_length_log2, target_length_log2;
  int64_t longest_prompt = 0, longest_target = 0;
};

class BatchStream {
 public:
  BatchStream(std::shared_ptr<const ExampleSource> source, std::shared_ptr<const Tokenizer> tokenizer, int64_t rank = 0,
              int64_t world_size = 1);

  // This rank's rows of the next global batch.
  Batch next();
  // This rank's rows of global batch b (a pure function of the seed and b; safe to call from
  // several threads at once).
  Batch batch(uint64_t b) const;
  uint64_t next_batch() const { return next_batch_; }
  void seek(uint64_t batch) { next_batch_ = batch; }  // resume: the state is this one number

  // Row r of the global stream (a pure function of the seed and r). Adds to `counters` if given.
  Batch row(uint64_t r, StreamCounters* counters = nullptr) const;

 private:
  Batch assemble(const std::vector<Batch>& rows) const;

  std::shared_ptr<const ExampleSource> source_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  int64_t rank_, world_size_, rows_per_rank_;
  int64_t pad_id_;
  uint64_t next_batch_ = 0;
};

}  // namespace symtune

#include "data/batches.h"

#include <algorithm>
#include <map>
#include <optional>

#include "common/error.h"
#include "common/stop_signal.h"

namespace symtune {

namespace {
std::vector<int32_t> encode32(const Tokenizer& t, const std::string& text) {
  std::vector<int64_t> ids = t.encode(text);
  return {ids.begin(), ids.end()};
}
}  // namespace

TokenizedExample tokenize_example(const TextExample& ex, const Tokenizer& tok, int64_t max_input, int64_t max_target) {
  TokenizedExample out;
  const auto& special = tok.special();
  auto encode_prompt = [&](const std::vector<bool>& kept) {
    std::vector<int32_t> ids;
    if (special.bos && tok.add_bos()) ids.push_back(static_cast<int32_t>(*special.bos));
    auto body = encode32(tok, ex.input(kept));
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  };
  // Exemplars that may go, front first: any, except the last one left of its class.
  std::map<int32_t, int64_t> left_of_label;
  for (int32_t label : ex.exemplar_labels) ++left_of_label[label];
  out.kept.assign(ex.exemplars.size(), true);
  auto drop_next = [&]() -> std::optional<size_t> {
    for (size_t i = 0; i < ex.exemplars.size(); ++i) {
      if (!out.kept[i]) continue;
      if (!ex.exemplar_labels.empty() && left_of_label[ex.exemplar_labels[i]] <= 1) continue;
      out.kept[i] = false;
      if (!ex.exemplar_labels.empty()) --left_of_label[ex.exemplar_labels[i]];
      return i;
    }
    return std::nullopt;
  };
  out.prompt = encode_prompt(out.kept);
  if (static_cast<int64_t>(out.prompt.size()) > max_input) {
    // Estimate each exemplar's tokens (separately encoded; joins differ by a token or so), drop
    // until the estimate fits, then re-encode and drop more while still too long.
    int64_t excess = static_cast<int64_t>(out.prompt.size()) - max_input;
    while (excess > 0)
      if (const auto i = drop_next()) excess -= static_cast<int64_t>(encode32(tok, ex.exemplars[*i]).size()) + 1;
      else break;
    out.prompt = encode_prompt(out.kept);
    while (static_cast<int64_t>(out.prompt.size()) > max_input && drop_next()) out.prompt = encode_prompt(out.kept);
  }
  out.exemplars_kept = static_cast<int32_t>(std::count(out.kept.begin(), out.kept.end(), true));
  out.exemplars_dropped = static_cast<int32_t>(ex.exemplars.size()) - out.exemplars_kept;
  if (static_cast<int64_t>(out.prompt.size()) > max_input) {
    out.unusable = true;
    return out;
  }
  out.target = encode32(tok, ex.target);
  const int64_t room = max_target - (special.eos ? 1 : 0);
  if (static_cast<int64_t>(out.target.size()) > room) {
    out.target.resize(static_cast<size_t>(room));
    out.target_truncated = true;
  }
  if (special.eos) out.target.push_back(static_cast<int32_t>(*special.eos));
  return out;
}

BatchStream::BatchStream(std::shared_ptr<const ExampleSource> source, std::shared_ptr<const Tokenizer> tokenizer,
                         int64_t rank, int64_t world_size)
    : source_(std::move(source)), tokenizer_(std::move(tokenizer)), rank_(rank), world_size_(world_size) {
  const int64_t rows = source_->config().rows_per_batch;
  if (world_size_ < 1 || rank_ < 0 || rank_ >= world_size_)
    throw Error("data: rank " + std::to_string(rank_) + " is outside a world of " + std::to_string(world_size_));
  if (rows % world_size_ != 0)
    throw Error("data: rows_per_batch " + std::to_string(rows) + " is not divisible by the " +
                std::to_string(world_size_) + " ranks; choose a multiple so every rank gets the same share");
  rows_per_rank_ = rows / world_size_;
  pad_id_ = tokenizer_->special().pad ? *tokenizer_->special().pad
                                      : (tokenizer_->special().eos ? *tokenizer_->special().eos : 0);
}

namespace {

// Names the datasets whose prompts did not fit, so the user knows which to leave out.
Error no_usable_example(uint64_t r, const std::map<std::string, int64_t>& sources, const DataConfig& c) {
  std::string from;
  for (const auto& [source, n] : sources) from += (from.empty() ? "" : ", ") + source + " (" + std::to_string(n) + ")";
  return Error("data: row " + std::to_string(r) +
               ": none of the 65 examples drawn fits data.max_input_tokens = " + std::to_string(c.max_input_tokens) +
               " (even their query with one exemplar per class is longer); they came from: " + from +
               ". Raise data.max_input_tokens or leave those datasets out (data.tuning_datasets)");
}

}  // namespace

Batch BatchStream::row(uint64_t r, StreamCounters* counters) const {
  const DataConfig& c = source_->config();
  const int64_t capacity = c.row_tokens();
  Batch row;
  row.rows = 1;
  std::string row_kind;
  int64_t misses = 0;  // examples that did not fit (or were unusable) since the row had one
  std::map<std::string, int64_t> unusable_sources;  // while the row is empty: where the misses came from
  for (uint64_t slot = 0;; ++slot) {
    throw_if_stop_requested("data: building row " + std::to_string(r));
    const TextExample text = source_->example(r, slot);
    const TokenizedExample ex = tokenize_example(text, *tokenizer_, c.max_input_tokens, c.max_target_tokens);
    const int64_t length = static_cast<int64_t>(ex.prompt.size() + ex.target.size());
    if (ex.unusable || static_cast<int64_t>(row.tokens.size()) + length > capacity) {
      if (counters != nullptr && ex.unusable) ++counters->unusable_examples;
      if (row.examples == 0) {
        // An empty row always has room for a usable example, so only unusable ones land here.
        ++unusable_sources[text.source];
        if (slot >= 64) throw no_usable_example(r, unusable_sources, c);
        continue;
      }
      if (++misses > c.pack_fill_attempts) break;
      continue;
    }
    row_kind = text.kind;
    const int64_t segment = row.examples;
    for (size_t i = 0; i < ex.prompt.size() + ex.target.size(); ++i) {
      const bool in_prompt = i < ex.prompt.size();
      row.tokens.push_back(in_prompt ? ex.prompt[i] : ex.target[i - ex.prompt.size()]);
      row.position_ids.push_back(static_cast<int64_t>(i));
      row.segment_ids.push_back(segment);
      // Position i predicts token i + 1 when that is a target token.
      const size_t next = i + 1;
      row.labels.push_back(next >= ex.prompt.size() && next < ex.prompt.size() + ex.target.size()
                               ? ex.target[next - ex.prompt.size()]
                               : -100);
    }
    ++row.examples;
    row.target_tokens += static_cast<int64_t>(ex.target.size());
    if (counters != nullptr) {
      ++counters->examples;
      ++counters->by_kind[text.kind];
      ++counters->by_source[text.source];
      counters->exemplars_dropped += ex.exemplars_dropped;
      counters->prompts_with_dropped_exemplars += ex.exemplars_dropped > 0 ? 1 : 0;
      counters->targets_truncated += ex.target_truncated ? 1 : 0;
      auto log2_bucket = [](size_t n) {
        int b = 0;
        while ((size_t(2) << b) <= n) ++b;
        return b;
      };
      ++counters->prompt_length_log2[log2_bucket(ex.prompt.size())];
      ++counters->target_length_log2[log2_bucket(ex.target.size())];
      counters->longest_prompt = std::max<int64_t>(counters->longest_prompt, static_cast<int64_t>(ex.prompt.size()));
      counters->longest_target = std::max<int64_t>(counters->longest_target, static_cast<int64_t>(ex.target.size()));
    }
    if (!c.pack) break;
    if (static_cast<int64_t>(row.tokens.size()) == capacity) break;
  }
  row.seq = static_cast<int64_t>(row.tokens.size());
  if (counters != nullptr) {
    ++counters->rows;
    ++counters->rows_by_kind[row_kind];
    counters->tokens_by_kind[row_kind] += row.seq;
    counters->target_tokens += row.target_tokens;
  }
  return row;
}

Batch BatchStream::assemble(const std::vector<Batch>& rows) const {
  const DataConfig& c = source_->config();
  Batch b;
  b.rows = static_cast<int64_t>(rows.size());
  int64_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.seq);
  // Packed rows are padded to the full row length (a fixed shape, friendly to kernels and
  // graphs); unpacked batches only to their longest row.
  b.seq = c.pack ? c.row_tokens() : longest;
  for (const auto& r : rows) {
    const int64_t pad = b.seq - r.seq;
    b.tokens.insert(b.tokens.end(), r.tokens.begin(), r.tokens.end());
    b.position_ids.insert(b.position_ids.end(), r.position_ids.begin(), r.position_ids.end());
    b.segment_ids.insert(b.segment_ids.end(), r.segment_ids.begin(), r.segment_ids.end());
    b.labels.insert(b.labels.end(), r.labels.begin(), r.labels.end());
    // Padding is one more segment of its own, so no real token attends to it.
    const int64_t pad_segment = r.examples;
    for (int64_t i = 0; i < pad; ++i) {
      b.tokens.push_back(pad_id_);
      b.position_ids.push_back(i);
      b.segment_ids.push_back(pad_segment);
      b.labels.push_back(-100);
    }
    b.examples += r.examples;
    b.target_tokens += r.target_tokens;
    b.padding_tokens += pad;
  }
  return b;
}

// The position moves only once the batch is whole: a batch cut short (by a stop request) is
// built again from the same place.
Batch BatchStream::next() {
  Batch b = batch(next_batch_);
  ++next_batch_;
  return b;
}

Batch BatchStream::batch(uint64_t b) const {
  const int64_t rows_per_batch = source_->config().rows_per_batch;
  const uint64_t first = b * static_cast<uint64_t>(rows_per_batch) + static_cast<uint64_t>(rank_ * rows_per_rank_);
  std::vector<Batch> rows;
  for (int64_t i = 0; i < rows_per_rank_; ++i) rows.push_back(row(first + static_cast<uint64_t>(i)));
  return assemble(rows);
}

}  // namespace symtune

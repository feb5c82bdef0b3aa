// Text continuation with a KV cache: greedy (temperature 0) or sampled with temperature and
// optional top-k, deterministic in the seed. For sanity checks and evaluation.
// Must not include data/ or trainer/.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/transformer.h"

namespace symtune {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  double temperature = 0.0;  // 0 = greedy argmax
  int64_t top_k = 0;         // 0 = the whole vocabulary
  uint64_t seed = 0;
  std::vector<int64_t> stop_ids;  // generation ends after emitting one of these
};

// Returns the new tokens only (stop token included when one was hit).
std::vector<int64_t> generate(Transformer& model, const std::vector<int64_t>& prompt, const GenerateOptions& options);

}  // namespace symtune

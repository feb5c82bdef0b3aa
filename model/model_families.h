// What differs between the model families in config.json: each family's options read into a
// ModelConfig (biases, norms, q/k norms, rotary layers, windows, soft-capping, Gemma 3's two rotary
// embeddings, Phi-3's fused projections and longrope, per-layer windows), and the options none of
// them implements refused by key.
// No torch here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/model_config.h"

namespace symtune {

// Reads the family-specific keys of `j` into `c` (architecture, dimensions and rope already read).
void read_family_options(const nlohmann::json& j, ModelConfig& c, const std::string& origin);

// The families whose config class ties the head by default (tie_word_embeddings absent).
bool ties_by_default(Architecture arch);

}  // namespace symtune

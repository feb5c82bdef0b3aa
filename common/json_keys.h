// Checks for JSON objects we read as configuration: every key must be one we know, and a
// typo is reported with the nearest valid key, so a misspelt option never silently falls
// back to its default.
// Must not include torch.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace symtune {

// Throws Error "<where>: unknown key 'lrr' (did you mean 'lr'?); valid keys: ..." when `object`
// holds a key outside `known`, or when it is not an object at all.
void require_known_keys(const nlohmann::json& object, const std::vector<std::string>& known, const std::string& where);

// The entry of `candidates` closest to `word` by edit distance ("" if none is close).
std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace symtune

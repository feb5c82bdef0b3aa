#include "common/json_keys.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace symtune {

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(3, word.size() / 3) + 1;  // farther than this is no hint
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

void require_known_keys(const nlohmann::json& object, const std::vector<std::string>& known, const std::string& where) {
  if (!object.is_object()) throw Error(where + ": expected a JSON object, found " + object.dump());
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    std::string message = where + ": unknown key '" + it.key() + "'";
    const std::string hint = nearest_word(it.key(), known);
    if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
    message += "; valid keys:";
    for (const auto& k : known) message += " " + k;
    throw Error(message);
  }
}

}  // namespace symtune

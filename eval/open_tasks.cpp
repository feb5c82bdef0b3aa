#include "eval/open_tasks.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/rng.h"

namespace symtune {

std::string render_int_list(const std::vector<int64_t>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
}

std::vector<OpenTask> load_list_functions(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open the list functions");
  std::vector<OpenTask> tasks;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      OpenTask t;
      t.id = j.at("id").get<std::string>();
      for (const auto& e : j.at("examples"))
        t.examples.emplace_back(render_int_list(e.at("input").get<std::vector<int64_t>>()),
                                render_int_list(e.at("output").get<std::vector<int64_t>>()));
      tasks.push_back(std::move(t));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path.string() + ":" + std::to_string(n) + ": not a list-function record: " + e.what());
    }
  }
  if (tasks.empty()) throw Error(path.string() + ": no list functions");
  return tasks;
}

std::optional<std::vector<int64_t>> parse_int_list(const std::string& g) {
  const size_t open = g.find('[');
  if (open == std::string::npos) return std::nullopt;
  const size_t close = g.find(']', open);
  if (close == std::string::npos) return std::nullopt;
  std::vector<int64_t> out;
  std::string inner = g.substr(open + 1, close - open - 1);
  size_t i = 0;
  auto skip_space = [&] {
    while (i < inner.size() && inner[i] == ' ') ++i;
  };
  skip_space();
  if (i == inner.size()) return out;  // "[]"
  while (true) {
    skip_space();
    size_t start = i;
    if (i < inner.size() && inner[i] == '-') ++i;
    while (i < inner.size() && std::isdigit(static_cast<unsigned char>(inner[i]))) ++i;
    if (i == start || (inner[start] == '-' && i == start + 1)) return std::nullopt;
    out.push_back(std::stoll(inner.substr(start, i - start)));
    skip_space();
    if (i == inner.size()) return out;
    if (inner[i] != ',') return std::nullopt;
    ++i;
  }
}

std::string first_word(const std::string& g) {
  size_t start = g.find_first_not_of(" \t");
  if (start == std::string::npos) return "";
  const size_t end = g.find_first_of(" \t\n\r", start);
  return g.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

namespace {
using Concept = std::function<std::string(const std::string&)>;

const std::map<std::string, Concept>& concepts() {
  static const std::map<std::string, Concept> all{
      {"identity", [](const std::string& s) { return s; }},
      {"reverse", [](const std::string& s) { return std::string(s.rbegin(), s.rend()); }},
      {"invert",
       [](std::string s) {
         for (auto& c : s) c = c == '0' ? '1' : '0';
         return s;
       }},
      {"rotate_left", [](const std::string& s) { return s.substr(1) + s[0]; }},
      {"rotate_right", [](const std::string& s) { return s.back() + s.substr(0, s.size() - 1); }},
      {"append_1", [](const std::string& s) { return s + "1"; }},
      {"prepend_0", [](const std::string& s) { return "0" + s; }},
      {"drop_first", [](const std::string& s) { return s.substr(1); }},
      {"drop_last", [](const std::string& s) { return s.substr(0, s.size() - 1); }},
      {"duplicate", [](const std::string& s) { return s + s; }},
      {"sort",
       [](std::string s) {
         std::sort(s.begin(), s.end());
         return s;
       }},
      {"keep_even_positions",
       [](const std::string& s) {
         std::string o;
         for (size_t i = 0; i < s.size(); i += 2) o += s[i];
         return o;
       }},
      {"swap_halves",
       [](const std::string& s) {
         const size_t h = s.size() / 2;
         return s.substr(h) + s.substr(0, h);
       }},
      {"mirror", [](const std::string& s) { return s + std::string(s.rbegin(), s.rend()); }},
      {"count_ones",
       [](const std::string& s) { return std::string(std::max<size_t>(1, std::count(s.begin(), s.end(), '1')), '1'); }},
      {"xor_neighbours",
       [](const std::string& s) {
         std::string o;
         for (size_t i = 0; i + 1 < s.size(); ++i) o += s[i] == s[i + 1] ? '0' : '1';
         return o;
       }},
  };
  return all;
}
}  // namespace

std::vector<std::string> turing_concept_names() {
  std::vector<std::string> names;
  for (const auto& [name, c] : concepts()) names.push_back(name);
  return names;
}

OpenTask make_turing_concept_task(const std::string& concept, int64_t examples, uint64_t seed) {
  auto it = concepts().find(concept);
  if (it == concepts().end()) throw Error("simple Turing concept '" + concept + "' does not exist");
  OpenTask t;
  t.id = concept;
  Rng rng = Rng::for_stream(seed, std::hash<std::string>{}(concept) & 0xFFFFFFFFull, 0x5455524E);  // "TURN"
  for (int64_t i = 0; i < examples; ++i) {
    std::string bits;
    const int64_t len = rng.between(3, 8);
    for (int64_t b = 0; b < len; ++b) bits += rng.below(2) ? '1' : '0';
    t.examples.emplace_back(bits, it->second(bits));
  }
  return t;
}

}  // namespace symtune

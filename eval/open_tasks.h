// Evaluation tasks with open answers, scored by exact match of a greedy generation:
//  * BIG-bench list functions (Rule 2020): 250 functions on integer lists, each with 11
//    input/output pairs; the prompt shows some pairs, the model writes the output list for
//    the next input.
//  * Simple Turing concepts: our own generator in the style of BIG-bench's simp_turing_concept:
//    a hidden program maps binary strings to binary strings. Concept families (all on strings
//    of 3-8 bits): identity, reverse, invert, rotate_left, rotate_right, append_1, prepend_0,
//    drop_first, drop_last, duplicate, sort, keep_even_positions, swap_halves, mirror (s +
//    reverse(s)), count_ones (as unary 1s), xor_neighbours.
// Must not include trainer/; no torch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace symtune {

struct OpenTask {
  std::string id;
  std::vector<std::pair<std::string, std::string>> examples;  // rendered (input, output) texts
};

// Reads list_functions.jsonl ({"id", "program", "examples": [{"input": [..], "output": [..]}]}).
std::vector<OpenTask> load_list_functions(const std::filesystem::path& path);

// Lists rendered as in the prompt: "[1, 2, 3]".
std::string render_int_list(const std::vector<int64_t>& values);

// The first bracketed integer list in a generation, e.g. " [4, 5]\nInput" -> {4, 5}; nullopt
// when there is none or it is malformed ("[4, x]", "[4, 5", "4, 5").
std::optional<std::vector<int64_t>> parse_int_list(const std::string& generation);

std::vector<std::string> turing_concept_names();
// One concept task with `examples` pairs on random bit strings; deterministic in the seed.
OpenTask make_turing_concept_task(const std::string& concept, int64_t examples, uint64_t seed);
// The first whitespace-delimited token of a generation ("0110\nInput" -> "0110").
std::string first_word(const std::string& generation);

}  // namespace symtune

#include "data/synthetic_tasks.h"

#include <functional>
#include <map>

#include "common/error.h"
#include "data/rng.h"

namespace symtune {

namespace {

std::string random_word(Rng& rng, int min_len, int max_len,
                        const std::string& alphabet = "abcdefghijklmnopqrstuvwxyz") {
  const int len = static_cast<int>(rng.between(min_len, max_len));
  std::string w;
  for (int i = 0; i < len; ++i) w += alphabet[rng.below(alphabet.size())];
  return w;
}

struct Task {
  std::vector<std::string> labels;
  std::string task;
  // Makes one example of `label`.
  std::function<LabelledExample(int32_t label, Rng&)> make;
};

const std::map<std::string, Task>& tasks() {
  static const std::map<std::string, Task> all{
      {"vowel_start",
       {{"vowel", "consonant"},
        "first letter",
        [](int32_t l, Rng& r) {
          const std::string first =
              l == 0 ? random_word(r, 1, 1, "aeiou") : random_word(r, 1, 1, "bcdfghjklmnpqrstvwxyz");
          return LabelledExample{first + random_word(r, 2, 6), "", l};
        }}},
      {"length",
       {{"short", "long"},
        "word length",
        [](int32_t l, Rng& r) {
          return LabelledExample{l == 0 ? random_word(r, 2, 4) : random_word(r, 8, 11), "", l};
        }}},
      {"has_digit",
       {{"digit", "letters"},
        "digits",
        [](int32_t l, Rng& r) {
          std::string w = random_word(r, 4, 7);
          if (l == 0) w[r.below(w.size())] = static_cast<char>('0' + r.below(10));
          return LabelledExample{w, "", l};
        }}},
      {"parity",
       {{"even", "odd"},
        "parity",
        [](int32_t l, Rng& r) {
          return LabelledExample{std::to_string(r.between(0, 499) * 2 + l), "", l};
        }}},
      {"compare",
       {{"first", "second"},
        "comparison",
        [](int32_t l, Rng& r) {
          int64_t a = r.between(0, 98), b = r.between(a + 1, 99);
          if (l == 0) std::swap(a, b);
          return LabelledExample{std::to_string(a) + " " + std::to_string(b), "", l};
        }}},
      {"repeated",
       {{"repeat", "distinct"},
        "repetition",
        [](int32_t l, Rng& r) {
          std::vector<std::string> words{random_word(r, 2, 4), random_word(r, 2, 4), random_word(r, 2, 4)};
          while (words[1] == words[0]) words[1] = random_word(r, 2, 4);
          while (words[2] == words[0] || words[2] == words[1]) words[2] = random_word(r, 2, 4);
          if (l == 0) words[2] = words[r.below(2)];
          return LabelledExample{words[0] + " " + words[1] + " " + words[2], "", l};
        }}},
      {"contains_z",
       {{"z", "no z"},
        "letter z",
        [](int32_t l, Rng& r) {
          std::string w = random_word(r, 4, 7, "abcdefghijklmnopqrstuvwxy");
          if (l == 0) w[r.below(w.size())] = 'z';
          return LabelledExample{w, "", l};
        }}},
      {"sign",
       {{"positive", "negative"},
        "sign",
        [](int32_t l, Rng& r) {
          return LabelledExample{(l == 1 ? "-" : "") + std::to_string(r.between(1, 999)), "", l};
        }}},
      {"caps",
       {{"upper", "lower"},
        "case",
        [](int32_t l, Rng& r) {
          std::string w = random_word(r, 3, 7);
          if (l == 0)
            for (auto& ch : w) ch = static_cast<char>(ch - 'a' + 'A');
          return LabelledExample{w, "", l};
        }}},
      {"count",
       {{"one", "two", "three"},
        "word count",
        [](int32_t l, Rng& r) {
          std::string s = random_word(r, 2, 5);
          for (int32_t i = 0; i < l; ++i) s += " " + random_word(r, 2, 5);
          return LabelledExample{s, "", l};
        }}},
  };
  return all;
}

}  // namespace

std::vector<std::string> synthetic_task_names() {
  std::vector<std::string> names;
  for (const auto& [name, task] : tasks()) names.push_back(name);
  return names;
}

ClassificationDataset make_synthetic_task(const std::string& name, int64_t train_examples, int64_t test_examples,
                                          uint64_t seed) {
  auto it = tasks().find(name);
  if (it == tasks().end()) throw Error("synthetic task '" + name + "' does not exist");
  ClassificationDataset d;
  d.name = name;
  d.task = it->second.task;
  d.labels = it->second.labels;
  d.text_field_name = "input";
  Rng rng = Rng::for_stream(seed, std::hash<std::string>{}(name)&0xFFFFFFFFull, 0x53594E54);  // "SYNT"
  const int32_t n_labels = static_cast<int32_t>(d.labels.size());
  for (int64_t i = 0; i < train_examples; ++i)
    d.train.push_back(it->second.make(static_cast<int32_t>(i % n_labels), rng));
  for (int64_t i = 0; i < test_examples; ++i)
    d.test.push_back(it->second.make(static_cast<int32_t>(i % n_labels), rng));
  d.train_by_label = d.indices_by_label(d.train);
  return d;
}

}  // namespace symtune

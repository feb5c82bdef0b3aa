// Progress of a long command (evaluation, ablation, conversion) on stderr: done / total, rate
// and time left. On a terminal one line rewritten in place at most 5 times a second; otherwise
// (a log file, a pipe) a plain line every 30 seconds and one at the end, so logs stay readable.
// No torch here.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace symtune {

// "1m05s", "2h03m".
std::string duration_text(double seconds);

// "eval icl: 120/400 prompts (30%) | 2.41/s | ETA 1m56s"; no rate or ETA before any progress.
std::string progress_text(const std::string& label, const std::string& unit, int64_t done, int64_t total,
                          double seconds);

class Progress {
 public:
  // `terminal` unset: whether stderr is one.
  Progress(std::string label, std::string unit, int64_t total, int terminal = -1, std::FILE* out = stderr);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void advance(int64_t n = 1);
  // The last line, once (the destructor calls it too).
  void finish();

 private:
  void show(bool final);
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool terminal_, finished_ = false;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_shown_;
};

}  // namespace symtune

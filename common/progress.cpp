#include "common/progress.h"

#include <unistd.h>

#include <algorithm>

namespace symtune {

std::string duration_text(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(seconds, 0.0));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

std::string progress_text(const std::string& label, const std::string& unit, int64_t done, int64_t total,
                          double seconds) {
  char buf[160];
  const double share = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  std::snprintf(buf, sizeof(buf), "%s: %lld/%lld %s (%.0f%%)", label.c_str(), (long long)done, (long long)total,
                unit.c_str(), share);
  std::string text = buf;
  if (done > 0 && seconds > 0) {
    const double rate = static_cast<double>(done) / seconds;
    std::snprintf(buf, sizeof(buf), " | %.3g/s | ETA %s", rate,
                  duration_text(static_cast<double>(std::max<int64_t>(total - done, 0)) / rate).c_str());
    text += buf;
  }
  return text;
}

Progress::Progress(std::string label, std::string unit, int64_t total, int terminal, std::FILE* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      terminal_(terminal < 0 ? isatty(fileno(out)) != 0 : terminal != 0),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_shown_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_shown_).count();
  if (since >= (terminal_ ? 0.2 : 30.0)) show(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  show(true);
}

void Progress::show(bool final) {
  last_shown_ = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(last_shown_ - start_).count();
  std::string text = progress_text(label_, unit_, done_, total_, seconds);
  if (final) text += " | " + duration_text(seconds) + " in all";
  if (terminal_) std::fprintf(out_, "\r\033[K%s%s", text.c_str(), final ? "\n" : "");
  else std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace symtune

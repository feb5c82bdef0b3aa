#include "common/stop_signal.h"

#include <atomic>
#include <csignal>
#include <cstring>

namespace symtune {
namespace {
volatile std::sig_atomic_t g_stop = 0;
std::atomic<int> g_deferrals{0};

void on_signal(int sig) {
  if (g_stop) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop = sig;
}
}  // namespace

void install_stop_signal_handlers() {
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
}

bool stop_requested() { return g_stop != 0; }

int stop_signal() { return static_cast<int>(g_stop); }

StopDeferral::StopDeferral() { ++g_deferrals; }
StopDeferral::~StopDeferral() { --g_deferrals; }

void throw_if_stop_requested(const std::string& what) {
  if (g_stop == 0 || g_deferrals.load() > 0) return;
  const int sig = static_cast<int>(g_stop);
  throw Interrupted(what + ": interrupted by " + (sig == SIGINT ? std::string("SIGINT") : std::string("SIGTERM")), sig);
}

}  // namespace symtune

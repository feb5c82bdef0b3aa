// SIGTERM / SIGINT as a request to stop, for every command. A training run finishes its step (a
// batch being built is dropped), writes a checkpoint and exits 0, which is what a preempting
// cluster scheduler expects; any other long loop (building batches, evaluating, converting,
// generating) calls throw_if_stop_requested() often enough to stop within seconds, and the
// command exits with 128 + the signal number, its outputs being atomic (complete or absent).
// A second signal while that happens is left to the default action (the user insists).
// Must not include torch.
#pragma once

#include <string>

#include "common/error.h"

namespace symtune {

// Thrown by throw_if_stop_requested(); main() turns it into exit status 128 + signal().
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

void install_stop_signal_handlers();
bool stop_requested();
// The signal that asked to stop (SIGTERM or SIGINT), 0 when none did.
int stop_signal();
// Throws Interrupted ("<what>: interrupted by SIGTERM") once a stop was requested, unless a
// StopDeferral is alive.
void throw_if_stop_requested(const std::string& what);

// While one exists (in any thread), throw_if_stop_requested() does not throw: the ranks of a
// multi-process run must stop at the same point of their collectives, so they finish what they
// are doing and decide together (the trainer all-reduces stop_requested() between steps).
class StopDeferral {
 public:
  StopDeferral();
  ~StopDeferral();
  StopDeferral(const StopDeferral&) = delete;
  StopDeferral& operator=(const StopDeferral&) = delete;
};

}  // namespace symtune

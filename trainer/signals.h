// SIGTERM / SIGINT as a request to stop: the trainer finishes its step, writes a checkpoint and
// exits 0, which is what a preempting cluster scheduler expects. A second signal while that
// happens is left to the default action (the user insists).
#pragma once

namespace symtune {

void install_stop_signal_handlers();
bool stop_requested();

}  // namespace symtune

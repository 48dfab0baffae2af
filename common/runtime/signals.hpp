#pragma once

#include <chrono>
#include <optional>

namespace paynotify::runtime {

/// Blocks SIGINT, SIGTERM and SIGPIPE in the calling thread. Call first thing in main(),
/// before any thread starts, so every thread inherits the mask: termination signals are
/// then only ever received by WaitForTerminationSignal(), and a peer closing a socket
/// gives EPIPE instead of killing the process. Throws std::system_error on failure.
void BlockTerminationSignals();

/// Waits (sigwait) until SIGINT or SIGTERM arrives and returns its number. Requires
/// BlockTerminationSignals() to have run first. No work happens in a signal handler.
/// Throws std::system_error if sigwait fails.
int WaitForTerminationSignal();

/// Like WaitForTerminationSignal(), but gives up after `timeout`: returns the signal number,
/// or nullopt when none arrived. For waits in main() before the workers run (e.g. a start-up
/// back-off) that must still end at once on SIGTERM. Throws std::system_error on failure.
std::optional<int> WaitForTerminationSignalFor(std::chrono::milliseconds timeout);

}  // namespace paynotify::runtime

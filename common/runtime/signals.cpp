#include "common/runtime/signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>
#include <system_error>

namespace paynotify::runtime {
namespace {

sigset_t TerminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSet();
  // SIGPIPE is blocked, not waited for: a write to a closed socket must become EPIPE.
  sigaddset(&set, SIGPIPE);
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    throw std::system_error(rc, std::generic_category(), "pthread_sigmask(SIG_BLOCK)");
  }
}

int WaitForTerminationSignal() {
  const sigset_t set = TerminationSet();
  int signal_number = 0;
  if (int rc = sigwait(&set, &signal_number); rc != 0) {
    throw std::system_error(rc, std::generic_category(), "sigwait");
  }
  return signal_number;
}

std::optional<int> WaitForTerminationSignalFor(std::chrono::milliseconds timeout) {
  const sigset_t set = TerminationSet();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec until{static_cast<time_t>(seconds.count()),
                       static_cast<long>(std::chrono::nanoseconds(timeout - seconds).count())};
  while (true) {
    const int signal_number = sigtimedwait(&set, nullptr, &until);
    if (signal_number > 0) return signal_number;
    if (errno == EAGAIN) return std::nullopt;
    // EINTR: another signal interrupted the wait; waiting the full time again is harmless
    // for the back-off uses this serves.
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "sigtimedwait");
  }
}

}  // namespace paynotify::runtime

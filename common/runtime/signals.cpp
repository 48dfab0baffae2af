#include "common/runtime/signals.hpp"

#include <pthread.h>
#include <signal.h>

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

}  // namespace paynotify::runtime

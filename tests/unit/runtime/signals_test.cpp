#include "common/runtime/signals.hpp"

#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>

namespace paynotify::runtime {
namespace {

bool IsBlocked(int signal_number) {
  sigset_t current;
  pthread_sigmask(SIG_BLOCK, nullptr, &current);
  return sigismember(&current, signal_number) == 1;
}

TEST(SignalsTest, BlocksTerminationSignalsAndSigpipe) {
  BlockTerminationSignals();
  EXPECT_TRUE(IsBlocked(SIGINT));
  EXPECT_TRUE(IsBlocked(SIGTERM));
  EXPECT_TRUE(IsBlocked(SIGPIPE));
}

TEST(SignalsTest, WaitReturnsThePendingTerminationSignal) {
  BlockTerminationSignals();
  // Directed at this (blocking) thread, so it stays pending until sigwait takes it.
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(WaitForTerminationSignal(), SIGTERM);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(WaitForTerminationSignal(), SIGINT);
}

}  // namespace
}  // namespace paynotify::runtime

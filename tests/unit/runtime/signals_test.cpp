#include "common/runtime/signals.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

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

TEST(SignalsTest, TimedWaitReturnsAPendingSignalAndTimesOutWithoutOne) {
  BlockTerminationSignals();
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(WaitForTerminationSignalFor(std::chrono::seconds(5)), std::optional<int>(SIGTERM));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(WaitForTerminationSignalFor(std::chrono::milliseconds(50)), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace paynotify::runtime

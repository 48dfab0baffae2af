#include "common/runtime/stop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace paynotify::runtime {
namespace {

using namespace std::chrono_literals;

TEST(SleepForTest, SleepsTheFullDurationWithoutStop) {
  std::stop_source source;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(SleepFor(source.get_token(), 20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(SleepForTest, ReturnsFalseAtOnceWhenAlreadyStopped) {
  std::stop_source source;
  source.request_stop();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(SleepFor(source.get_token(), 60s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(SleepForTest, WakesAtOnceWhenStopIsRequested) {
  std::atomic<bool> result{true};
  std::atomic<bool> entered{false};
  const auto start = std::chrono::steady_clock::now();
  std::jthread sleeper([&](std::stop_token token) {
    entered = true;
    result = SleepFor(token, 60s);
  });
  while (!entered) std::this_thread::yield();
  sleeper.request_stop();
  sleeper.join();
  EXPECT_FALSE(result);
  // Far below the 60 s it was asked to sleep: it woke on the stop, not on the timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(SleepForTest, ZeroDurationReturnsTrueImmediately) {
  std::stop_source source;
  EXPECT_TRUE(SleepFor(source.get_token(), 0ms));
}

}  // namespace
}  // namespace paynotify::runtime

#include "common/runtime/backoff.hpp"

#include <gtest/gtest.h>

#include "common/runtime/clock.hpp"

namespace paynotify::runtime {
namespace {

using std::chrono::milliseconds;

TEST(DelayForAttemptTest, DoublesFromInitialAndCapsAtMax) {
  const BackoffPolicy policy{milliseconds{1000}, 2.0, milliseconds{30000}};
  EXPECT_EQ(DelayForAttempt(policy, 1), milliseconds{1000});
  EXPECT_EQ(DelayForAttempt(policy, 2), milliseconds{2000});
  EXPECT_EQ(DelayForAttempt(policy, 3), milliseconds{4000});
  EXPECT_EQ(DelayForAttempt(policy, 5), milliseconds{16000});
  EXPECT_EQ(DelayForAttempt(policy, 6), milliseconds{30000});
  EXPECT_EQ(DelayForAttempt(policy, 7), milliseconds{30000});
}

TEST(DelayForAttemptTest, ZeroOrNegativeAttemptMeansFirst) {
  const BackoffPolicy policy{milliseconds{250}, 3.0, milliseconds{10000}};
  EXPECT_EQ(DelayForAttempt(policy, 0), milliseconds{250});
  EXPECT_EQ(DelayForAttempt(policy, -4), milliseconds{250});
}

TEST(DelayForAttemptTest, HugeAttemptSaturatesAtMaxWithoutOverflow) {
  const BackoffPolicy policy{milliseconds{1000}, 2.0, milliseconds{60000}};
  EXPECT_EQ(DelayForAttempt(policy, 5000), milliseconds{60000});
  EXPECT_EQ(DelayForAttempt(policy, std::numeric_limits<int>::max()), milliseconds{60000});
}

TEST(DelayForAttemptTest, FractionalMultiplierAndMultiplierBelowOne) {
  EXPECT_EQ(DelayForAttempt({milliseconds{1000}, 1.5, milliseconds{10000}}, 3), milliseconds{2250});
  // A shrinking back-off makes no sense; it is treated as constant.
  EXPECT_EQ(DelayForAttempt({milliseconds{1000}, 0.5, milliseconds{10000}}, 4), milliseconds{1000});
}

TEST(DelayForAttemptTest, InitialAboveMaxIsCapped) {
  EXPECT_EQ(DelayForAttempt({milliseconds{5000}, 2.0, milliseconds{1000}}, 1), milliseconds{1000});
}

TEST(BackoffTest, NextFollowsScheduleAndResetStartsOver) {
  Backoff backoff({milliseconds{100}, 2.0, milliseconds{500}});
  EXPECT_EQ(backoff.Next(), milliseconds{100});
  EXPECT_EQ(backoff.Next(), milliseconds{200});
  EXPECT_EQ(backoff.Next(), milliseconds{400});
  EXPECT_EQ(backoff.Next(), milliseconds{500});
  EXPECT_EQ(backoff.Next(), milliseconds{500});
  EXPECT_EQ(backoff.Attempts(), 5);
  backoff.Reset();
  EXPECT_EQ(backoff.Attempts(), 0);
  EXPECT_EQ(backoff.Next(), milliseconds{100});
}

TEST(BackoffTest, DrivesARetryDeadlineOnAManualClock) {
  ManualClock clock;
  Backoff backoff({milliseconds{1000}, 2.0, milliseconds{3000}});
  const auto start = clock.Now();
  auto due = start;
  for (int i = 0; i < 4; ++i) {
    due = clock.Now() + backoff.Next();
    clock.Advance(due - clock.Now());
  }
  // 1s + 2s + 3s (capped) + 3s
  EXPECT_EQ(clock.Now() - start, std::chrono::seconds{9});
}

}  // namespace
}  // namespace paynotify::runtime

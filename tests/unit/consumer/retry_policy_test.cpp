#include "common/consumer/retry_policy.hpp"

#include <gtest/gtest.h>

namespace paynotify::consumer {
namespace {

using namespace std::chrono_literals;

RetryPolicy Policy(int max_attempts) { return RetryPolicy{{1000ms, 2.0, 5000ms}, max_attempts}; }

TEST(RetryPolicyTest, MaxAttemptsOneNeverRetries) {
  EXPECT_FALSE(NextRetry(Policy(1), 1, "x").has_value());
  const Disposition d = RetryOrDeadLetter(Policy(1), 1, "x");
  EXPECT_EQ(d.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(d.reason, reason::kRetriesExhausted);
  EXPECT_EQ(d.attempt, 1);
}

TEST(RetryPolicyTest, DelayGrowsPerAttemptAndIsCapped) {
  const auto first = NextRetry(Policy(5), 1, "e");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, Disposition::Kind::kRetry);
  EXPECT_EQ(first->delay, 1000ms);
  EXPECT_EQ(first->attempt, 2);
  EXPECT_EQ(first->text, "e");
  EXPECT_EQ(NextRetry(Policy(5), 3, "e")->delay, 4000ms);
  EXPECT_EQ(NextRetry(Policy(5), 4, "e")->delay, 5000ms);
  EXPECT_FALSE(NextRetry(Policy(5), 5, "e"));
}

TEST(RetryPolicyTest, ExhaustedRetriesDeadLetterWithTheGivenReason) {
  const Disposition d = RetryOrDeadLetter(Policy(3), 3, "selection 9 not found", "selection-missing");
  EXPECT_EQ(d.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(d.reason, "selection-missing");
  EXPECT_EQ(d.text, "selection 9 not found");
  EXPECT_EQ(d.attempt, 3);
  EXPECT_EQ(RetryOrDeadLetter(Policy(3), 0, "e").attempt, 2);  // a bad attempt counts as the first
}

}  // namespace
}  // namespace paynotify::consumer

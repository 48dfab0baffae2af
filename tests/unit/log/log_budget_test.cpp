#include "common/log/log_budget.hpp"

#include <gtest/gtest.h>

namespace paynotify::log {
namespace {

using namespace std::chrono_literals;

TEST(LogBudget, AllowsABurstThenSuppressesAndSaysHowManyWereSuppressed) {
  LogBudget budget(/*per_second=*/2, /*burst=*/3);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_EQ(budget.Take(t0), 0u);
  EXPECT_EQ(budget.Take(t0), 0u);
  EXPECT_EQ(budget.Take(t0), 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(budget.Take(t0).has_value());
  // Half a second later one token is back: the line that goes out reports the 1000.
  EXPECT_EQ(budget.Take(t0 + 500ms), 1000u);
  EXPECT_FALSE(budget.Take(t0 + 500ms).has_value());
  EXPECT_EQ(budget.Take(t0 + 1000ms), 1u);
}

TEST(LogBudget, RefillsNoMoreThanTheBurst) {
  LogBudget budget(10, 2);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_TRUE(budget.Take(t0));
  const auto later = t0 + 1h;
  EXPECT_TRUE(budget.Take(later));
  EXPECT_TRUE(budget.Take(later));
  EXPECT_FALSE(budget.Take(later));
}

}  // namespace
}  // namespace paynotify::log

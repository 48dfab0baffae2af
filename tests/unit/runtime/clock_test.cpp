#include "common/runtime/clock.hpp"

#include <gtest/gtest.h>

namespace paynotify::runtime {
namespace {

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  const auto steady = clock.Now();
  const auto wall = clock.WallNow();
  EXPECT_EQ(clock.Now(), steady);
  clock.Advance(std::chrono::milliseconds{1500});
  EXPECT_EQ(clock.Now() - steady, std::chrono::milliseconds{1500});
  EXPECT_EQ(clock.WallNow() - wall, std::chrono::milliseconds{1500});
}

TEST(ManualClockTest, StartsAtAGivenWallTimeAndIgnoresNegativeAdvance) {
  const std::chrono::system_clock::time_point start{std::chrono::seconds{1'000'000}};
  ManualClock clock(start);
  EXPECT_EQ(clock.WallNow(), start);
  const auto steady = clock.Now();
  clock.Advance(std::chrono::seconds{-5});
  EXPECT_EQ(clock.Now(), steady);
  EXPECT_EQ(clock.WallNow(), start);
}

TEST(SystemClockTest, IsMonotonicAndUsableThroughTheInterface) {
  const Clock& clock = SystemClock::Instance();
  const auto a = clock.Now();
  const auto b = clock.Now();
  EXPECT_LE(a, b);
  EXPECT_GT(clock.WallNow().time_since_epoch().count(), 0);
}

}  // namespace
}  // namespace paynotify::runtime

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

TEST(ManualClockTest, SleepForRecordsTheWaitAndAdvancesWithoutBlocking) {
  ManualClock clock;
  const auto start = clock.Now();
  std::stop_source source;
  EXPECT_TRUE(clock.SleepFor(std::chrono::hours{1}, source.get_token()));
  EXPECT_TRUE(clock.SleepFor(std::chrono::milliseconds{250}, source.get_token()));
  EXPECT_EQ(clock.Now() - start, std::chrono::hours{1} + std::chrono::milliseconds{250});
  EXPECT_EQ(clock.Sleeps(), (std::vector<std::chrono::milliseconds>{std::chrono::hours{1},
                                                                     std::chrono::milliseconds{250}}));
}

TEST(ManualClockTest, SleepForReturnsFalseAtOnceWhenStopWasRequested) {
  ManualClock clock;
  const auto start = clock.Now();
  std::stop_source source;
  source.request_stop();
  EXPECT_FALSE(clock.SleepFor(std::chrono::seconds{5}, source.get_token()));
  EXPECT_EQ(clock.Now(), start);
  EXPECT_TRUE(clock.Sleeps().empty());
}

TEST(SystemClockTest, SleepForWakesAtOnceOnStop) {
  std::stop_source source;
  source.request_stop();
  EXPECT_FALSE(SystemClock::Instance().SleepFor(std::chrono::hours{1}, source.get_token()));
}

}  // namespace
}  // namespace paynotify::runtime

// WindowedCounter on a ManualClock: what is counted leaves the sum one window later (to the
// slice), memory stays fixed however long the gap, and bad shapes are refused.
#include "common/metrics/windowed_counter.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace paynotify::metrics {
namespace {

using namespace std::chrono_literals;
using runtime::ManualClock;

TEST(WindowedCounter, StartsEmptyAndSumsWhatWasAdded) {
  ManualClock clock;
  WindowedCounter counter(clock, 1h, 60);
  EXPECT_EQ(counter.Sum(), 0u);
  counter.Add();
  counter.Add(4);
  EXPECT_EQ(counter.Sum(), 5u);
  EXPECT_EQ(counter.Window(), 1h);
}

TEST(WindowedCounter, EventsLeaveTheSumOneWindowLater) {
  ManualClock clock;
  WindowedCounter counter(clock, 1h, 60);  // one-minute slices
  counter.Add(3);
  clock.Advance(30min);
  counter.Add(2);
  EXPECT_EQ(counter.Sum(), 5u);
  clock.Advance(29min);  // 59 min after the first three: still inside the hour
  EXPECT_EQ(counter.Sum(), 5u);
  clock.Advance(1min + 1s);  // an hour and a second after them: gone, the two remain
  EXPECT_EQ(counter.Sum(), 2u);
  clock.Advance(30min);
  EXPECT_EQ(counter.Sum(), 0u);
}

TEST(WindowedCounter, AnEventNeverOutlivesTheWindowNorLeavesBeforeWindowMinusASlice) {
  ManualClock clock;
  clock.Advance(37s);  // not on a slice boundary
  WindowedCounter counter(clock, 10min, 10);  // one-minute slices
  counter.Add();
  clock.Advance(9min - 1s);
  EXPECT_EQ(counter.Sum(), 1u) << "left before window - slice";
  clock.Advance(1min + 1s);
  EXPECT_EQ(counter.Sum(), 0u) << "still counted a full window later";
}

TEST(WindowedCounter, ALongQuietGapEmptiesEverySlice) {
  ManualClock clock;
  WindowedCounter counter(clock, 1min, 6);
  for (int i = 0; i < 6; ++i) {
    counter.Add(10);
    clock.Advance(10s);
  }
  EXPECT_EQ(counter.Sum(), 50u);  // the first ten just left
  clock.Advance(24h);
  EXPECT_EQ(counter.Sum(), 0u);
  counter.Add();
  EXPECT_EQ(counter.Sum(), 1u);
}

TEST(WindowedCounter, RefusesShapesWithoutSlices) {
  ManualClock clock;
  EXPECT_THROW(WindowedCounter(clock, 0ms, 10), std::invalid_argument);
  EXPECT_THROW(WindowedCounter(clock, -1s, 10), std::invalid_argument);
  EXPECT_THROW(WindowedCounter(clock, 1s, 0), std::invalid_argument);
  EXPECT_THROW(WindowedCounter(clock, 5ms, 10), std::invalid_argument);  // 0.5 ms slices
}

TEST(WindowedCounter, CountsFromManyThreads) {
  ManualClock clock;
  WindowedCounter counter(clock, 1h, 60);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) counter.Add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.Sum(), 4000u);
}

}  // namespace
}  // namespace paynotify::metrics

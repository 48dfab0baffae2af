#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/runtime/clock.hpp"

namespace paynotify::metrics {

/// Counts events over a sliding window of the recent past ("dead-lettered in the last hour"),
/// for status pages; Prometheus computes its own windows from counters.
///
/// The window is split into `buckets` equal slices on the monotonic clock; Sum() adds the
/// slices that overlap the last `window`, so an event leaves the sum between window - slice
/// and window after it was added (resolution: one slice). Memory is `buckets` counters
/// whatever the rate of events. Thread-safe (one short mutex per call; no allocation after
/// construction). Time comes from the Clock, so tests move it with runtime::ManualClock.
class WindowedCounter {
 public:
  /// Throws std::invalid_argument when `window` is not positive or `buckets` is 0 or does
  /// not divide `window` into slices of at least 1 ms.
  WindowedCounter(const runtime::Clock& clock, std::chrono::milliseconds window, size_t buckets = 60);

  /// Adds `amount` now.
  void Add(uint64_t amount = 1);
  /// Events added within the last window (see the class comment for the resolution).
  uint64_t Sum() const;
  std::chrono::milliseconds Window() const { return window_; }

 private:
  /// Index of the slice that `now` falls in, counted from the clock's epoch.
  int64_t SliceOf(std::chrono::steady_clock::time_point now) const;
  /// Empties the slices that fell out of the window since the last call. Holds mutex_.
  void Expire(int64_t slice) const;

  const runtime::Clock& clock_;
  std::chrono::milliseconds window_;
  std::chrono::milliseconds slice_;
  mutable std::mutex mutex_;
  mutable std::vector<uint64_t> counts_;  // ring: slice s lives at counts_[s % size]
  mutable int64_t newest_slice_;          // the latest slice counts_ holds
};

}  // namespace paynotify::metrics

#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <stop_token>
#include <vector>

#include "common/runtime/stop.hpp"

namespace paynotify::runtime {

/// Source of time, and the only way production code waits for it to pass. Code takes a
/// `const Clock&` instead of calling std::chrono clocks or sleeping directly, so back-off,
/// pauses and deadlines are testable with ManualClock without real sleeps (Envoy's
/// TimeSource, userver's mock_now). Implementations are thread-safe; Now() is monotonic.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic time, for deadlines and intervals.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  /// Wall-clock time, for timestamps written to messages, rows and logs.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
  /// Waits `duration` or until stop is requested on `stop`, whichever comes first. Returns
  /// true if the whole duration passed, false if stop was requested (at once if it already
  /// was). Never sleeps through a stop.
  virtual bool SleepFor(std::chrono::milliseconds duration, std::stop_token stop) const = 0;
};

/// The real clocks. Stateless; a single shared instance is fine (see SystemClock::Instance()).
class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
  bool SleepFor(std::chrono::milliseconds duration, std::stop_token stop) const override {
    return runtime::SleepFor(stop, duration);
  }
  /// A process-wide instance, for composition roots that need a default.
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

/// A clock that moves only when told to. Starts at an arbitrary fixed point (steady epoch
/// + 1h; wall clock 2024-01-01T00:00:00Z unless given). Advance() moves both clocks together.
/// SleepFor() does not block: it records the duration (Sleeps()) and advances the clock by
/// it, so code that backs off runs at full speed in tests and the test reads the waits.
/// Thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock()
      : ManualClock(std::chrono::system_clock::time_point{std::chrono::seconds{1704067200}}) {}
  explicit ManualClock(std::chrono::system_clock::time_point wall_start)
      : steady_(std::chrono::steady_clock::time_point{std::chrono::hours{1}}),
        wall_(wall_start) {}

  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard lock(mutex_);
    return steady_;
  }
  std::chrono::system_clock::time_point WallNow() const override {
    std::lock_guard lock(mutex_);
    return wall_;
  }
  /// Moves both clocks forward by `d` (a negative duration is ignored: Now() stays monotonic).
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    if (d.count() < 0) return;
    std::lock_guard lock(mutex_);
    steady_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  bool SleepFor(std::chrono::milliseconds duration, std::stop_token stop) const override {
    if (stop.stop_requested()) return false;
    std::lock_guard lock(mutex_);
    sleeps_.push_back(duration);
    if (duration.count() > 0) {
      steady_ += duration;
      wall_ += duration;
    }
    return true;
  }
  /// Every duration passed to SleepFor(), in order.
  std::vector<std::chrono::milliseconds> Sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;
  // Mutable: SleepFor() is const (callers hold a const Clock&) yet moves the clock.
  mutable std::chrono::steady_clock::time_point steady_;
  mutable std::chrono::system_clock::time_point wall_;
  mutable std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace paynotify::runtime

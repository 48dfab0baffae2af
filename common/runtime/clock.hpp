#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

namespace paynotify::runtime {

/// Source of time. Production code takes a `const Clock&` instead of calling
/// std::chrono clocks directly, so back-off and deadlines are testable with ManualClock.
/// Implementations are thread-safe; Now() is monotonic (never goes backwards).
class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic time, for deadlines and intervals.
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  /// Wall-clock time, for timestamps written to messages, rows and logs.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
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
  /// A process-wide instance, for composition roots that need a default.
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

/// A clock that moves only when told to. Starts at an arbitrary fixed point (steady epoch
/// + 1h; wall clock 2024-01-01T00:00:00Z unless given). Advance() moves both clocks together.
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

 private:
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point steady_;
  std::chrono::system_clock::time_point wall_;
};

}  // namespace paynotify::runtime

#pragma once
/// A budget for log lines that outsiders can trigger (rejected requests, poison messages):
/// without one, a flood of bad input becomes a flood of log lines that fills the disk and
/// drowns everything else. Counters still count every event; the log shows a sample.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace paynotify::log {

/// A token bucket: up to `burst` lines at once, refilled at `per_second`. Thread-safe.
class LogBudget {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  LogBudget(double per_second, double burst);

  /// Whether a line may be written now. nullopt: suppress it. Otherwise how many lines were
  /// suppressed since the last one written (say so in the line, e.g. "(37 similar
  /// suppressed)"), and the count restarts.
  std::optional<uint64_t> Take(TimePoint now = std::chrono::steady_clock::now());

 private:
  std::mutex mutex_;
  double per_second_;
  double burst_;
  double tokens_;
  std::optional<TimePoint> last_;
  uint64_t suppressed_ = 0;
};

}  // namespace paynotify::log

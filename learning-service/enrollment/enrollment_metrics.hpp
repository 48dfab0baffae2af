#pragma once
/// learning-service's domain metrics: what became of the payment results it decided. The
/// consumer loop counts the rest (consumed, retried, dead-lettered, pauses, ...) under the
/// same paynotify_learning_ prefix (see common/consumer/consumer_metrics.hpp).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "common/metrics/registry.hpp"
#include "common/runtime/clock.hpp"

namespace paynotify::learning {

struct HandleResult;

/// Thread-safe (the registry's instruments are). Names:
///   paynotify_learning_applied_total, _duplicates_total, _ignored_total,
///   _apply_seconds (histogram, per message: a batch's transaction time / its messages),
///   _publish_to_apply_seconds (histogram: message timestamp -> applied),
///   _last_applied_timestamp_seconds (gauge: Unix time of the last apply; 0 before the first).
class EnrollmentMetrics {
 public:
  /// `clock` (wall time of the last apply) must outlive this object.
  explicit EnrollmentMetrics(metrics::Registry& registry,
                             const runtime::Clock& clock = runtime::SystemClock::Instance());

  /// Counts one decided delivery (once per decision the loop acts on).
  void Record(const HandleResult& result);
  /// Wall time of the last applied message since start, or nullopt before the first. Any thread.
  std::optional<std::chrono::system_clock::time_point> LastApplied() const;

 private:
  metrics::Counter& applied_;
  metrics::Counter& duplicates_;
  metrics::Counter& ignored_;
  metrics::Histogram& apply_seconds_;
  metrics::Histogram& publish_to_apply_seconds_;
  metrics::Gauge& last_applied_timestamp_;
  const runtime::Clock& clock_;
  std::atomic<int64_t> last_applied_ms_{-1};  // since the Unix epoch; -1: none yet
};

}  // namespace paynotify::learning

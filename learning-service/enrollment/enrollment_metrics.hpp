#pragma once
/// learning-service's domain metrics: what became of the payment results it decided. The
/// consumer loop counts the rest (consumed, retried, dead-lettered, pauses, ...) under the
/// same paynotify_learning_ prefix (see common/consumer/consumer_metrics.hpp).
#include "common/metrics/registry.hpp"

namespace paynotify::learning {

struct HandleResult;

/// Thread-safe (the registry's instruments are). Names:
///   paynotify_learning_applied_total, _duplicates_total, _ignored_total,
///   _apply_seconds (histogram, per message: a batch's transaction time / its messages),
///   _publish_to_apply_seconds (histogram: message timestamp -> applied).
class EnrollmentMetrics {
 public:
  explicit EnrollmentMetrics(metrics::Registry& registry);

  /// Counts one decided delivery (once per decision the loop acts on).
  void Record(const HandleResult& result);

 private:
  metrics::Counter& applied_;
  metrics::Counter& duplicates_;
  metrics::Counter& ignored_;
  metrics::Histogram& apply_seconds_;
  metrics::Histogram& publish_to_apply_seconds_;
};

}  // namespace paynotify::learning

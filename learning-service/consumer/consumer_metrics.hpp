#pragma once
/// The learning consumer's Prometheus metrics (issue 4 section 5), registered once.
#include <cstddef>
#include <string>
#include <vector>

#include "common/metrics/registry.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"

namespace paynotify::learning {

/// Thread-safe (the registry's instruments are). Names:
///   paynotify_learning_consumed_total, _applied_total, _duplicates_total, _ignored_total,
///   _retried_total{attempt}, _dead_lettered_total{reason}, _paused_total,
///   _settle_failures_total{action} (copy not confirmed -> original requeued),
///   _parked_minimal_total (dead-letter copy refused, minimal copy parked instead),
///   _apply_seconds (histogram, per message), _publish_to_apply_seconds (histogram: message
///   timestamp -> applied), _batch_size (histogram), _batch_fallbacks_total.
/// Buckets of paynotify_learning_batch_size (deliveries per batch).
inline const std::vector<double> kBatchSizeBuckets{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};

class ConsumerMetrics {
 public:
  explicit ConsumerMetrics(metrics::Registry& registry);

  void Consumed();
  /// Counts the handler's result (once per Handle call).
  void Record(const HandleResult& result);
  /// A retry / dead-letter copy was confirmed and the original acked.
  void Retried(int next_attempt);
  /// `reason` is one of kDeadLetterReasons; anything else is counted as "other", so the
  /// label's values stay a fixed set.
  void DeadLettered(const std::string& reason);
  void SettleFailed(std::string_view action);
  /// A dead-letter copy was not confirmed, its minimal form was (and the original acked).
  void ParkedMinimal();
  /// A batch of `deliveries` was taken from the queue (1 when only one was waiting).
  void Batch(size_t deliveries);
  /// A batch's transaction failed and its deliveries went through one by one.
  void BatchFellBack();

 private:
  metrics::Registry& registry_;
  metrics::Counter& consumed_;
  metrics::Counter& applied_;
  metrics::Counter& duplicates_;
  metrics::Counter& ignored_;
  metrics::Counter& paused_;
  metrics::Histogram& apply_seconds_;
  metrics::Histogram& publish_to_apply_seconds_;
  metrics::Histogram& batch_size_;
  metrics::Counter& batch_fallbacks_;
  metrics::Counter& parked_minimal_;
};

}  // namespace paynotify::learning

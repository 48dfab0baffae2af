#pragma once
/// The consumer loop's own Prometheus metrics: what the mechanism did with deliveries,
/// whatever the service. Domain outcomes (e.g. "applied") are the service's to count.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics/registry.hpp"
#include "common/metrics/windowed_counter.hpp"

namespace paynotify::consumer {

/// Buckets of <prefix>_batch_size (deliveries per batch).
inline const std::vector<double> kBatchSizeBuckets{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};

/// Registered once, under a prefix the daemon chooses (e.g. "paynotify_learning", so the
/// names dashboards know stay as they were). Names:
///   <prefix>_consumed_total                 deliveries received from the queue
///   <prefix>_retried_total{attempt}         retry copies confirmed (original acked), by next attempt
///   <prefix>_dead_lettered_total{reason}    parked copies confirmed, by reason (a fixed set, see
///                                           DeliveryHandler::DeadLetterReasons; else "other")
///   <prefix>_settle_failures_total{action}  retry/dead-letter copy not confirmed -> original requeued
///   <prefix>_parked_minimal_total           dead-letter copy refused, minimal copy parked instead
///   <prefix>_batch_size (histogram)         deliveries handled together
///   <prefix>_batch_fallbacks_total          batches that failed as a whole, then went one by one
///   <prefix>_pauses_total                   times consumption paused (a dependency unavailable)
///   <prefix>_pause_retries_total            waits, while paused, before trying the held delivery
///                                           again (was misnamed _paused_total before issue 14)
///   <prefix>_loop_errors_total{kind}        kind = broker (connection lost) | unexpected (a bug:
///                                           connection dropped so deliveries are redelivered)
/// Thread-safe (the registry's instruments are).
class ConsumerMetrics {
 public:
  /// Throws std::invalid_argument for a prefix that makes invalid metric names.
  ConsumerMetrics(metrics::Registry& registry, std::string prefix);

  void Consumed();
  /// A retry copy was confirmed and the original acked.
  void Retried(int next_attempt);
  /// A parked copy was confirmed and the original acked. `reason` must already be a label
  /// from the fixed set (the loop maps anything else to "other").
  void DeadLettered(std::string_view reason);
  /// Registers <prefix>_dead_lettered_total{reason} at 0 for each reason (and "other"), so the
  /// first dead-letter after a start is an increase a rule can see (Prometheus' increase()
  /// cannot tell a series born at 1 from one that was always 1). Set-up, before the loop runs.
  void DeclareDeadLetterReasons(std::span<const std::string_view> reasons);
  void SettleFailed(std::string_view action);
  /// A dead-letter copy was not confirmed, its minimal form was (and the original acked).
  void ParkedMinimal();
  /// A batch of `deliveries` was taken from the queue (1 when only one was waiting).
  void Batch(size_t deliveries);
  /// A batch failed as a whole and its deliveries went through one by one.
  void BatchFellBack();
  /// Consumption paused (the first kPause after running normally).
  void PauseEntered();
  /// The loop waits to try a held delivery again (one per kPause answer).
  void PauseRetry();
  /// `kind` is "broker" or "unexpected".
  void LoopError(std::string_view kind);

  /// Also counts every dead-lettered delivery in `window` (e.g. "in the last hour", for a
  /// status page). Set-up: call before the loop runs; `window` must outlive this object.
  void CountDeadLettersIn(metrics::WindowedCounter& window) { dead_letter_window_ = &window; }

 private:
  metrics::Registry& registry_;
  std::string prefix_;
  metrics::Counter& consumed_;
  metrics::Histogram& batch_size_;
  metrics::Counter& batch_fallbacks_;
  metrics::Counter& parked_minimal_;
  metrics::Counter& pauses_;
  metrics::Counter& pause_retries_;
  metrics::WindowedCounter* dead_letter_window_ = nullptr;
};

}  // namespace paynotify::consumer

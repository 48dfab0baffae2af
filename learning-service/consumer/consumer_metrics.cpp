#include "learning-service/consumer/consumer_metrics.hpp"

#include <algorithm>

namespace paynotify::learning {
namespace {

bool IsKnownReason(std::string_view reason) {
  return std::find(std::begin(kDeadLetterReasons), std::end(kDeadLetterReasons), reason) !=
         std::end(kDeadLetterReasons);
}

}  // namespace

ConsumerMetrics::ConsumerMetrics(metrics::Registry& registry)
    : registry_(registry),
      consumed_(registry.GetCounter("paynotify_learning_consumed_total", "Deliveries received from the queue")),
      applied_(registry.GetCounter("paynotify_learning_applied_total",
                                   "Payment results applied (selection paid, course added)")),
      duplicates_(registry.GetCounter("paynotify_learning_duplicates_total",
                                      "Deliveries skipped because their dedup key was applied before")),
      ignored_(registry.GetCounter("paynotify_learning_ignored_total",
                                   "Deliveries acked without effect (other message type or order type)")),
      paused_(registry.GetCounter("paynotify_learning_paused_total",
                                  "Times consumption paused because the database was unavailable")),
      apply_seconds_(registry.GetHistogram("paynotify_learning_apply_seconds",
                                           "Time in the apply transaction per message (a batch's time / its messages)",
                                           {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})),
      publish_to_apply_seconds_(registry.GetHistogram(
          "paynotify_learning_publish_to_apply_seconds",
          "Time from the message's timestamp property to its successful apply",
          {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800})),
      batch_size_(registry.GetHistogram("paynotify_learning_batch_size",
                                        "Deliveries handled together (one apply transaction, one multiple ack)",
                                        kBatchSizeBuckets)),
      batch_fallbacks_(registry.GetCounter("paynotify_learning_batch_fallbacks_total",
                                           "Batches whose transaction failed; their deliveries were then handled "
                                           "one by one")),
      parked_minimal_(registry.GetCounter("paynotify_learning_parked_minimal_total",
                                          "Dead-letter copies refused by the broker and parked in minimal form instead "
                                          "(body, message_id, reason)")) {}

void ConsumerMetrics::ParkedMinimal() { parked_minimal_.Inc(); }

void ConsumerMetrics::Batch(size_t deliveries) { batch_size_.Observe(static_cast<double>(deliveries)); }

void ConsumerMetrics::BatchFellBack() { batch_fallbacks_.Inc(); }

void ConsumerMetrics::Consumed() { consumed_.Inc(); }

void ConsumerMetrics::Record(const HandleResult& result) {
  switch (result.outcome) {
    case Outcome::kApplied: applied_.Inc(); break;
    case Outcome::kDuplicate: duplicates_.Inc(); break;
    case Outcome::kIgnored: ignored_.Inc(); break;
    case Outcome::kPaused: paused_.Inc(); break;
    case Outcome::kRetry:
    case Outcome::kDeadLetter: break;  // counted once the copy is confirmed
  }
  if (result.apply_duration) apply_seconds_.Observe(result.apply_duration->count());
  // The timestamp has one-second resolution; a negative value (clock skew) is recorded as 0.
  if (result.since_published) publish_to_apply_seconds_.Observe(std::max(0.0, result.since_published->count()));
}

void ConsumerMetrics::Retried(int next_attempt) {
  registry_
      .GetCounter("paynotify_learning_retried_total", "Deliveries sent to a delayed-retry queue, by next attempt",
                  {{"attempt", std::to_string(next_attempt)}})
      .Inc();
}

void ConsumerMetrics::DeadLettered(const std::string& reason) {
  registry_
      .GetCounter("paynotify_learning_dead_lettered_total", "Deliveries parked in the dead-letter queue, by reason",
                  {{"reason", IsKnownReason(reason) ? reason : std::string("other")}})
      .Inc();
}

void ConsumerMetrics::SettleFailed(std::string_view action) {
  registry_
      .GetCounter("paynotify_learning_settle_failures_total",
                  "Retry/dead-letter copies not confirmed by the broker (original requeued)",
                  {{"action", std::string(action)}})
      .Inc();
}

}  // namespace paynotify::learning

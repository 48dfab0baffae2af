#include "common/consumer/consumer_metrics.hpp"

namespace paynotify::consumer {
namespace {
constexpr const char* kDeadLetteredHelp = "Deliveries parked in the dead-letter queue, by reason";
}  // namespace

ConsumerMetrics::ConsumerMetrics(metrics::Registry& registry, std::string prefix)
    : registry_(registry),
      prefix_(std::move(prefix)),
      consumed_(registry.GetCounter(prefix_ + "_consumed_total", "Deliveries received from the queue")),
      batch_size_(registry.GetHistogram(prefix_ + "_batch_size",
                                        "Deliveries handled together (one handler batch, one multiple ack)",
                                        kBatchSizeBuckets)),
      batch_fallbacks_(registry.GetCounter(prefix_ + "_batch_fallbacks_total",
                                           "Batches that failed as a whole; their deliveries were then handled "
                                           "one by one")),
      parked_minimal_(registry.GetCounter(prefix_ + "_parked_minimal_total",
                                          "Dead-letter copies refused by the broker and parked in minimal form instead "
                                          "(body, message_id, reason)")),
      pauses_(registry.GetCounter(prefix_ + "_pauses_total",
                                  "Times consumption paused because something the handler depends on was unavailable")),
      pause_retries_(registry.GetCounter(prefix_ + "_pause_retries_total",
                                         "Waits before trying a held delivery again while consumption is paused")) {}

void ConsumerMetrics::Consumed() { consumed_.Inc(); }

void ConsumerMetrics::Retried(int next_attempt) {
  registry_
      .GetCounter(prefix_ + "_retried_total", "Deliveries sent to a delayed-retry queue, by next attempt",
                  {{"attempt", std::to_string(next_attempt)}})
      .Inc();
}

void ConsumerMetrics::DeadLettered(std::string_view reason) {
  registry_
      .GetCounter(prefix_ + "_dead_lettered_total", kDeadLetteredHelp,
                  {{"reason", std::string(reason)}})
      .Inc();
  if (dead_letter_window_ != nullptr) dead_letter_window_->Add();
}

void ConsumerMetrics::DeclareDeadLetterReasons(std::span<const std::string_view> reasons) {
  const auto declare = [&](std::string_view reason) {
    registry_.GetCounter(prefix_ + "_dead_lettered_total", kDeadLetteredHelp,
                         {{"reason", std::string(reason)}});
  };
  for (std::string_view reason : reasons) declare(reason);
  declare("other");
}

void ConsumerMetrics::SettleFailed(std::string_view action) {
  registry_
      .GetCounter(prefix_ + "_settle_failures_total",
                  "Retry/dead-letter copies not confirmed by the broker (original requeued)",
                  {{"action", std::string(action)}})
      .Inc();
}

void ConsumerMetrics::ParkedMinimal() { parked_minimal_.Inc(); }

void ConsumerMetrics::Batch(size_t deliveries) { batch_size_.Observe(static_cast<double>(deliveries)); }

void ConsumerMetrics::BatchFellBack() { batch_fallbacks_.Inc(); }

void ConsumerMetrics::PauseEntered() { pauses_.Inc(); }

void ConsumerMetrics::PauseRetry() { pause_retries_.Inc(); }

void ConsumerMetrics::LoopError(std::string_view kind) {
  registry_
      .GetCounter(prefix_ + "_loop_errors_total",
                  "Errors that interrupted consumption: broker = connection lost (reconnected), unexpected = "
                  "anything else (connection dropped so unsettled deliveries are redelivered)",
                  {{"kind", std::string(kind)}})
      .Inc();
}

}  // namespace paynotify::consumer

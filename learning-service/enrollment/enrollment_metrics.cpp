#include "learning-service/enrollment/enrollment_metrics.hpp"

#include <algorithm>

#include "learning-service/enrollment/enrollment_handler.hpp"

namespace paynotify::learning {

EnrollmentMetrics::EnrollmentMetrics(metrics::Registry& registry, const runtime::Clock& clock)
    : applied_(registry.GetCounter("paynotify_learning_applied_total",
                                   "Payment results applied (selection paid, course added)")),
      duplicates_(registry.GetCounter("paynotify_learning_duplicates_total",
                                      "Deliveries skipped because their dedup key was applied before")),
      ignored_(registry.GetCounter("paynotify_learning_ignored_total",
                                   "Deliveries acked without effect (other message type or order type)")),
      apply_seconds_(registry.GetHistogram("paynotify_learning_apply_seconds",
                                           "Time in the apply transaction per message (a batch's time / its messages)",
                                           {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})),
      publish_to_apply_seconds_(registry.GetHistogram(
          "paynotify_learning_publish_to_apply_seconds",
          "Time from the message's timestamp property to its successful apply",
          {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800})),
      last_applied_timestamp_(registry.GetGauge("paynotify_learning_last_applied_timestamp_seconds",
                                                "Unix time of the last payment result applied; 0 before the first")),
      clock_(clock) {}

void EnrollmentMetrics::Record(const HandleResult& result) {
  switch (result.outcome) {
    case Outcome::kApplied: {
      applied_.Inc();
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch());
      last_applied_ms_.store(ms.count());
      last_applied_timestamp_.Set(static_cast<double>(ms.count()) / 1000.0);
      break;
    }
    case Outcome::kDuplicate: duplicates_.Inc(); break;
    case Outcome::kIgnored: ignored_.Inc(); break;
    case Outcome::kPaused:      // the loop counts pauses
    case Outcome::kRetry:       // and confirmed retry / dead-letter copies
    case Outcome::kDeadLetter: break;
  }
  if (result.apply_duration) apply_seconds_.Observe(result.apply_duration->count());
  // The timestamp has one-second resolution; a negative value (clock skew) is recorded as 0.
  if (result.since_published) publish_to_apply_seconds_.Observe(std::max(0.0, result.since_published->count()));
}

std::optional<std::chrono::system_clock::time_point> EnrollmentMetrics::LastApplied() const {
  const int64_t ms = last_applied_ms_.load();
  if (ms < 0) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace paynotify::learning

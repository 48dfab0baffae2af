#pragma once
/// The retention loop: deletes expired rows in bounded batches, on a worker thread of its own,
/// without competing with the hot path. Mechanism only: what is deleted is the BatchDeleter's
/// (each daemon's policy).
///
/// Schedule, one batch per step:
///  - a full batch (as many rows as the limit): more may be waiting -> next batch after
///    batch_pause;
///  - a batch below the limit: nothing expired is left -> next look after idle_interval;
///  - a failure (database down, lock or statement timeout, anything thrown): counted, logged
///    ONCE until a batch succeeds again, then the next attempt after the back-off (reset by the
///    next success). The loop never ends on an error and never lets one escape.
/// Every wait goes through Clock::SleepFor with the stop token: a stop request ends the loop at
/// once, or as soon as the batch in flight returns (each batch is one short statement).
#include <chrono>
#include <stop_token>
#include <string>

#include "common/metrics/registry.hpp"
#include "common/retention/batch_deleter.hpp"
#include "common/retention/retention_settings.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/clock.hpp"

namespace paynotify::retention {

/// The loop's metrics, one series each per table (label table=<name>, a fixed name from the
/// daemon's policy, never data):
///   paynotify_retention_deleted_rows_total, paynotify_retention_batches_total (statements that
///   succeeded), paynotify_retention_errors_total (statements that failed),
///   paynotify_retention_last_success_timestamp_seconds (wall clock of the last successful
///   statement, 0 before the first: an alert on its age sees a retention that stopped working),
///   paynotify_retention_batch_duration_seconds (histogram).
struct RetentionMetrics {
  RetentionMetrics(metrics::Registry& registry, const std::string& table);
  metrics::Counter& deleted_rows;
  metrics::Counter& batches;
  metrics::Counter& errors;
  metrics::Gauge& last_success;
  metrics::Histogram& batch_seconds;
};

class RetentionLoop {
 public:
  /// `table` names what is deleted in logs and the metrics' label. `deleter`, `metrics` and
  /// `clock` must outlive the loop.
  RetentionLoop(std::string table, BatchDeleter& deleter, RetentionSettings settings,
                RetentionMetrics& metrics, const runtime::Clock& clock);

  /// Runs batches until `stop` is requested; returns then (at once when it already was).
  /// Never throws. Meant as the body of the daemon's retention thread.
  void Run(std::stop_token stop) noexcept;

  /// One batch, and the wait before the next one (see the schedule above). Never throws.
  /// Run() is a loop of Step() and the wait; exposed for tests.
  std::chrono::milliseconds Step() noexcept;

  /// True while the last batch failed (for tests and readiness-style checks). Loop thread.
  bool Failing() const noexcept { return failing_; }

 private:
  void Succeeded(size_t deleted);

  std::string table_;
  BatchDeleter& deleter_;
  RetentionSettings settings_;
  RetentionMetrics& metrics_;
  const runtime::Clock& clock_;
  runtime::Backoff backoff_;
  bool failing_ = false;
  int failed_attempts_ = 0;
  // The pass in progress: consecutive full batches and the rows they deleted, summed up in one
  // log line when the pass ends (a batch below the limit), not one line per batch.
  size_t pass_rows_ = 0;
  size_t pass_batches_ = 0;
  std::chrono::steady_clock::time_point pass_start_{};
};

}  // namespace paynotify::retention

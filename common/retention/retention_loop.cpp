#include "common/retention/retention_loop.hpp"

#include <exception>
#include <utility>

#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::retention {

namespace {
constexpr std::string_view kTableLabel = "table";
}

RetentionMetrics::RetentionMetrics(metrics::Registry& registry, const std::string& table)
    : deleted_rows(registry.GetCounter("paynotify_retention_deleted_rows_total",
                                       "Expired rows deleted by the retention loop",
                                       {{std::string(kTableLabel), table}})),
      batches(registry.GetCounter("paynotify_retention_batches_total",
                                  "Retention DELETE statements that succeeded (each one short transaction)",
                                  {{std::string(kTableLabel), table}})),
      errors(registry.GetCounter("paynotify_retention_errors_total",
                                 "Retention DELETE statements that failed (retried after a back-off)",
                                 {{std::string(kTableLabel), table}})),
      last_success(registry.GetGauge("paynotify_retention_last_success_timestamp_seconds",
                                     "Unix time of the last retention statement that succeeded (0: none yet)",
                                     {{std::string(kTableLabel), table}})),
      batch_seconds(registry.GetHistogram("paynotify_retention_batch_duration_seconds",
                                          "Duration of one retention DELETE statement and its commit",
                                          metrics::DefaultLatencyBuckets(), {{std::string(kTableLabel), table}})) {}

RetentionLoop::RetentionLoop(std::string table, BatchDeleter& deleter, RetentionSettings settings,
                             RetentionMetrics& metrics, const runtime::Clock& clock)
    : table_(std::move(table)),
      deleter_(deleter),
      settings_(settings),
      metrics_(metrics),
      clock_(clock),
      backoff_(settings.backoff) {}

void RetentionLoop::Run(std::stop_token stop) noexcept {
  try {
    log::Get("retention")
        ->info("{}: keeping rows for {}; deleting older ones in batches of {} (pause {}, idle {})", table_,
               FormatDuration(settings_.retention), settings_.batch_size, FormatDuration(settings_.batch_pause),
               FormatDuration(settings_.idle_interval));
  } catch (...) {
    // logging failed (out of memory): the loop still runs
  }
  while (!stop.stop_requested()) {
    const std::chrono::milliseconds wait = Step();
    if (!clock_.SleepFor(wait, stop)) break;
  }
}

std::chrono::milliseconds RetentionLoop::Step() noexcept {
  const auto started = clock_.Now();
  try {
    const size_t deleted = deleter_.DeleteBatch(settings_.retention, settings_.batch_size);
    metrics_.batch_seconds.Observe(std::chrono::duration<double>(clock_.Now() - started).count());
    Succeeded(deleted);
    return deleted >= settings_.batch_size ? settings_.batch_pause : settings_.idle_interval;
  } catch (const std::exception& e) {
    metrics_.errors.Inc();
    ++failed_attempts_;
    const std::chrono::milliseconds wait = backoff_.Next();
    if (!failing_) {
      failing_ = true;
      // Once per outage: a database that stays down must not fill the log. The consequence is
      // only that expired rows stay a little longer.
      try {
        log::Get("retention")
            ->warn("{}: deleting expired rows failed: {}; will retry in {} and back off (not logged again "
                   "until it works)",
                   table_, text::Printable(e.what()), FormatDuration(wait));
      } catch (...) {
      }
    }
    return wait;
  } catch (...) {
    metrics_.errors.Inc();
    ++failed_attempts_;
    failing_ = true;
    return backoff_.Next();
  }
}

void RetentionLoop::Succeeded(size_t deleted) {
  metrics_.batches.Inc();
  metrics_.deleted_rows.Inc(static_cast<double>(deleted));
  metrics_.last_success.Set(
      std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count());
  backoff_.Reset();
  auto logger = log::Get("retention");
  if (failing_) {
    failing_ = false;
    logger->info("{}: deleting expired rows works again after {} failed attempts", table_, failed_attempts_);
    failed_attempts_ = 0;
  }
  if (deleted > 0) {
    if (pass_batches_ == 0) pass_start_ = clock_.Now();
    pass_rows_ += deleted;
    ++pass_batches_;
    logger->debug("{}: deleted {} expired rows", table_, deleted);
  }
  if (deleted < settings_.batch_size && pass_rows_ > 0) {
    logger->info("{}: deleted {} rows older than {} in {} batches ({:.1f}s)", table_, pass_rows_,
                 FormatDuration(settings_.retention), pass_batches_,
                 std::chrono::duration<double>(clock_.Now() - pass_start_).count());
    pass_rows_ = 0;
    pass_batches_ = 0;
  }
}

}  // namespace paynotify::retention

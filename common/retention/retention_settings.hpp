#pragma once
/// How long rows are kept, and how the deletion runs (common to every table the retention loop
/// serves). What is kept is each daemon's policy (its own key, default and minimum); how the
/// deletion is paced is read here from the shared retention.* keys.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/runtime/backoff.hpp"

namespace paynotify::config {
class Reader;
}

namespace paynotify::retention {

struct RetentionSettings {
  /// Rows older than this are deleted.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 14)};
  /// Most rows per DELETE statement (one short transaction each).
  size_t batch_size = 5000;
  /// Wait after a full batch (more rows may be waiting) before the next one: leaves the
  /// database to the hot path between batches.
  std::chrono::milliseconds batch_pause{100};
  /// Wait after a batch that was not full (nothing expired is left): the idle cadence.
  std::chrono::milliseconds idle_interval{std::chrono::minutes(1)};
  /// Back-off while the database fails (usually database.reconnect).
  runtime::BackoffPolicy backoff{std::chrono::milliseconds(500), 2.0, std::chrono::milliseconds(10000)};
};

/// Reads the pacing keys shared by every retention (defaults as in RetentionSettings):
///   retention.batch-size (1..100000), retention.batch-pause (>= 0), retention.idle-interval
///   (>= 1s; at least the batch pause).
/// `into.retention` and `into.backoff` are left as they are (the daemon's policy). Errors are
/// recorded on the reader (reported by Reader::Finish()).
void ReadRetentionPacing(config::Reader& reader, RetentionSettings& into);

/// The longest retention period accepted: 100 years (36500d). Far longer periods would put
/// `now() - period` outside PostgreSQL's timestamp range and fail every batch.
inline constexpr std::chrono::milliseconds kMaxRetentionPeriod = std::chrono::hours(24 * 36500);

/// Reads a retention period at `key` (a duration; "14d" works) with `fallback`, and records an
/// error naming `why` when it is below `minimum` ("must be at least 1h: <why>"), or one when it
/// is above kMaxRetentionPeriod. Returns the value read (the fallback when invalid).
std::chrono::milliseconds ReadRetentionPeriod(config::Reader& reader, std::string_view key,
                                              std::chrono::milliseconds fallback,
                                              std::chrono::milliseconds minimum, std::string_view why);

/// "14d", "36h", "90m", "45s", "250ms": the largest unit that divides `d` exactly (logs and
/// config error messages).
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace paynotify::retention

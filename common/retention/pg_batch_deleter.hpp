#pragma once
/// The retention loop's port over PostgreSQL: one DELETE statement, supplied by the daemon
/// (which table and column is its policy), run as one short transaction per batch on a
/// connection of its own (never one of the hot path's).
#include <chrono>
#include <string>

#include "common/pg/connection.hpp"
#include "common/pg/settings.hpp"
#include "common/retention/batch_deleter.hpp"

namespace paynotify::retention {

/// Bounds on each batch, set on the deleter's connection: it never waits long for a lock the
/// hot path holds (lock_timeout: the batch fails, and is retried after the back-off), and a
/// statement that is slower than expected is cancelled rather than left holding row locks.
struct PgBatchLimits {
  std::chrono::milliseconds lock_timeout{1000};
  std::chrono::milliseconds statement_timeout{60000};
};

class PgBatchDeleter final : public BatchDeleter {
 public:
  /// `statement` is a DELETE whose parameters are $1 = the age in milliseconds (bigint) and
  /// $2 = the most rows to delete (bigint), and whose affected row count is what it deleted;
  /// it should select its rows through an index range with LIMIT (and FOR UPDATE SKIP LOCKED,
  /// so two replicas never wait for each other). Connects lazily on the first batch.
  PgBatchDeleter(pg::PgSettings settings, std::string statement, PgBatchLimits limits = {});

  /// See BatchDeleter. Failures (unreachable server, lost connection, timeouts, SQL errors) are
  /// translated once (pg::Translate; a lost connection is dropped and reopened next time) and
  /// thrown as std::runtime_error "<kind>: <detail>".
  size_t DeleteBatch(std::chrono::milliseconds older_than, size_t limit) override;

  /// Closes the connection (after the loop's thread has ended). Never throws.
  void Close() noexcept { holder_.Invalidate(); }

 private:
  pg::ConnectionHolder holder_;
};

}  // namespace paynotify::retention

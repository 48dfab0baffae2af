#pragma once
/// The port of the retention loop (RetentionLoop): deletes one bounded batch of expired rows.
/// The loop owns this seam; each daemon supplies what is deleted (its table and column) through
/// an adapter (PgBatchDeleter with the daemon's statement), tests a fake.
#include <chrono>
#include <cstddef>

namespace paynotify::retention {

class BatchDeleter {
 public:
  virtual ~BatchDeleter() = default;

  /// Deletes at most `limit` rows older than `older_than` (measured by the store's own clock,
  /// the one that stamped the rows), oldest first, in ONE short transaction of its own, and
  /// returns how many it deleted. A result below `limit` means nothing expired was left when
  /// it looked. Idempotent: rows already gone are not counted; a row another deleter is
  /// deleting at the same moment may be skipped (it is not waited for).
  /// Throws std::exception on any failure, with a what() fit for a log line (no untrusted
  /// bytes unescaped); nothing of a failed batch is committed. Called from one thread.
  virtual size_t DeleteBatch(std::chrono::milliseconds older_than, size_t limit) = 0;
};

}  // namespace paynotify::retention

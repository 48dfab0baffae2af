#pragma once
/// Port: the transactional outbox (mq_message) as the relay sees it. PgOutboxStore in
/// production (claims with FOR UPDATE SKIP LOCKED, so several relays can share a table);
/// InMemoryOutboxStore in unit tests.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace paynotify::order {

/// A store call failed because the database is unavailable: it could not be reached, the
/// connection was lost, or the server rolled the transaction back (deadlock, serialization
/// failure). Nothing of the call was committed, or, for a Complete() whose commit was cut
/// off, its outcome is unknown (the rows are then published again: at-least-once). Trying
/// again later will do. Any other exception from a store call means retrying alone will not
/// fix it (a schema mismatch, a permanent SQL error, a bug).
class OutboxUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One due outbox row.
struct OutboxRecord {
  int64_t id = 0;
  std::string message_id;  ///< uuid text; becomes the AMQP message_id (consumers dedupe on it)
  std::string message_type;
  std::optional<std::string> business_key1, business_key2, business_key3;
  int execute_num = 0;     ///< publish attempts so far that did not end in a confirm
};

/// A row that was not confirmed and stays for another attempt.
struct OutboxRetry {
  int64_t id = 0;
  std::string reason;               ///< -> returnfailure_msg: "nacked", "returned", "unknown: ..."
  std::chrono::milliseconds delay;  ///< next_attempt_at = now + delay
};

/// Rows claimed by one relay, locked against other claimers until Complete() or destruction.
/// Destroying an uncompleted batch rolls back: the rows are untouched and due again at
/// once (that is the at-least-once path: a batch published but not completed is published
/// again). Single-threaded.
class ClaimedBatch {
 public:
  virtual ~ClaimedBatch() = default;
  virtual const std::vector<OutboxRecord>& Records() const = 0;
  /// In the claim's own transaction: deletes `confirmed` in one statement (or moves them to
  /// mq_message_history when the store keeps history); for each retry increments
  /// execute_num and records reason, failure date and next_attempt_at; then commits.
  /// Throws OutboxUnavailable or another exception (see there); nothing is then changed,
  /// unless the commit's outcome is unknown. Call at most once.
  virtual void Complete(const std::vector<int64_t>& confirmed,
                        const std::vector<OutboxRetry>& retries) = 0;
};

/// Pending rows, for the outbox gauges.
struct OutboxStats {
  int64_t pending = 0;
  std::chrono::milliseconds oldest_age{0};  ///< age of the oldest row; 0 when empty
};

/// Used by one relay thread (not thread-safe); several stores (relays, replicas) may
/// share one database.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  /// Claims up to `limit` due rows (next_attempt_at <= now), lowest id first, skipping rows
  /// another claimer holds. An empty batch is fine. Throws OutboxUnavailable (or another
  /// exception, see there).
  virtual std::unique_ptr<ClaimedBatch> Claim(size_t limit) = 0;
  /// Throws like Claim().
  virtual OutboxStats Stats() = 0;
};

}  // namespace paynotify::order

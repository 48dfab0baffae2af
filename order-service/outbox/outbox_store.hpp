#pragma once
/// Port: the transactional outbox (mq_message) as the relay sees it. PgOutboxStore in
/// production (claims with FOR UPDATE SKIP LOCKED, so several relays can share a table);
/// InMemoryOutboxStore in unit tests.
///
/// Row states: pending (due now or backing off until next_attempt_at), parked (parked_at
/// set: failed relay.max-attempts times; kept with its last failure and attempt count, never
/// claimed again until an operator puts it back), and gone (confirmed: deleted, or moved to
/// mq_message_history). Parked rows never move to history.
///
/// Order per key: rows that share a business_key1 are published one at a time in id order.
/// A row is claimable only when no earlier UNPARKED row of its business_key1 is left, so a
/// row that backs off holds back the later rows of its key (they wait, they are not
/// reordered). A PARKED row does not hold them back: one poison row must not stop its key
/// forever; the later rows go out and the parked one waits for an operator. Rows with a NULL
/// business_key1 have no order among themselves.
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

/// A row that was not confirmed: it stays for another attempt, or, when this was its last
/// allowed attempt (`park`), it is parked.
struct OutboxRetry {
  int64_t id = 0;
  std::string reason;               ///< -> returnfailure_msg: "nacked", "returned", "unknown: ..."
  std::chrono::milliseconds delay{0};  ///< next_attempt_at = now + delay (ignored when parking)
  bool park = false;                ///< true: set parked_at = now; never claimed again
};

/// Rows claimed by one relay, locked against other claimers until Complete() or destruction.
/// Destroying an uncompleted batch rolls back: the rows are untouched and due again at
/// once (that is the at-least-once path: a batch published but not completed is published
/// again). Single-threaded.
class ClaimedBatch {
 public:
  virtual ~ClaimedBatch() = default;
  virtual const std::vector<OutboxRecord>& Records() const = 0;
  /// Extends the batch in its own transaction: claims up to `limit` more due rows by
  /// OutboxStore::Claim's rules, taking only rows with a higher id than every row claimed so
  /// far, and appends them to Records() (earlier elements stay where they are). The batch's
  /// own rows are still in the table, so they hold back the later rows of their keys. A row
  /// with a lower id that became due meanwhile is left to the next Claim(). Returns how many
  /// were added (0 is fine; a store may also decline, as PgOutboxStore does after a slow
  /// claim, so that the next Claim() is planned afresh). Throws like Claim(); the transaction is then lost, and the whole
  /// batch rolls back when it is destroyed.
  virtual size_t ClaimMore(size_t limit) = 0;
  /// In the claim's own transaction: deletes `confirmed` in one statement (or moves them to
  /// mq_message_history when the store keeps history); for each retry increments
  /// execute_num and records reason and failure date, and then either next_attempt_at
  /// (now + delay) or, for `park`, parked_at = now; then commits.
  /// Throws OutboxUnavailable or another exception (see there); nothing is then changed,
  /// unless the commit's outcome is unknown. Call at most once.
  virtual void Complete(const std::vector<int64_t>& confirmed,
                        const std::vector<OutboxRetry>& retries) = 0;
};

/// The outbox gauges, counted from the table (so they survive restarts and cover every
/// relay sharing it).
struct OutboxStats {
  int64_t pending = 0;                      ///< unparked rows (due or backing off)
  std::chrono::milliseconds oldest_age{0};  ///< age of the oldest unparked row; 0 when none
  int64_t parked = 0;                       ///< parked rows
};

/// Used by one relay thread (not thread-safe); several stores (relays, replicas) may
/// share one database.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  /// Claims up to `limit` due rows (unparked, next_attempt_at <= now), lowest id first,
  /// skipping rows another claimer holds and rows that an earlier unparked row of the same
  /// business_key1 holds back (see "Order per key" above: at most one row per key is
  /// claimed). An empty batch is fine. Throws OutboxUnavailable (or another exception, see
  /// there).
  virtual std::unique_ptr<ClaimedBatch> Claim(size_t limit) = 0;
  /// Throws like Claim().
  virtual OutboxStats Stats() = 0;
};

}  // namespace paynotify::order

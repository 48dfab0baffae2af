#pragma once
/// order-service's retention policy for the outbox history (mq_message_history, filled when
/// relay.keep-history is on): what is deleted and how long it is kept. The mechanism is
/// common/retention's RetentionLoop; PgBatchDeleter runs this statement.
#include <chrono>
#include <string_view>

namespace paynotify::order {

/// relay.history-retention's default: 30 days. History rows are an audit trail (which message
/// went out when, after how many attempts), not part of exactly-once delivery: nothing reads
/// them to decide anything. They answer "was this payment's message published?" for as long
/// as anyone still asks, which is longer than learning-service's inbox remembers a message
/// (consumer.dedup-retention, 14 days) so a trace finds both sides, and covers a monthly
/// reconciliation with the payment platform.
inline constexpr std::chrono::milliseconds kDefaultHistoryRetention = std::chrono::hours(24 * 30);

/// The floor of relay.history-retention: one hour. Nothing breaks below it, but a plain number
/// is read as milliseconds ("30" would empty the history at once): a unit typo is an error.
inline constexpr std::chrono::milliseconds kMinHistoryRetention = std::chrono::hours(1);

/// The retention batch: $1 the age in ms, $2 the most rows. A row's age counts from its confirm
/// (returnsuccess_date, set when it moved to history), or from its creation for rows without
/// one (written by another producer): a row parked for weeks and published after an operator's
/// requeue is kept for the whole period after it went out. The range scan over
/// mq_message_history_retention_idx (sql/orders/004_history_retention.sql, the same expression)
/// stops after LIMIT rows; the rows are locked and deleted by their tuple ids (a Tid Scan; see
/// learning-service's inbox_retention.hpp for why not `id IN (...)`); SKIP LOCKED leaves rows
/// another replica is deleting to it.
inline constexpr std::string_view kDeleteExpiredHistory = R"sql(
DELETE FROM mq_message_history
WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM mq_message_history
  WHERE COALESCE(returnsuccess_date, created_at) < now() - $1::bigint * interval '1 millisecond'
  ORDER BY COALESCE(returnsuccess_date, created_at)
  LIMIT $2
  FOR UPDATE SKIP LOCKED)))sql";

}  // namespace paynotify::order

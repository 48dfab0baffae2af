#pragma once
/// learning-service's retention policy for its inbox (processed_message): what is deleted and
/// how long it is kept. The mechanism (batches, pauses, back-off, stop) is
/// common/retention's RetentionLoop; PgBatchDeleter runs this statement.
#include <chrono>
#include <string_view>

namespace paynotify::learning {

/// consumer.dedup-retention's default. An inbox row is what recognises a message applied
/// before; once it is deleted, a redelivery of that message would be applied again (the
/// selection's status still absorbs most of them, but the inbox is the guarantee). So rows are
/// kept far longer than any way a message can come back: broker redeliveries (RabbitMQ has
/// redelivered acked messages days later after a failover), our retry chain (seconds), the
/// relay's re-publishing of a lost confirm (about 14 minutes at its defaults), and an
/// operator's replay of the dead-letter queue or requeue of a parked outbox row, which
/// happens within days. Two weeks covers a long weekend of unread alerts plus a week.
inline constexpr std::chrono::milliseconds kDefaultDedupRetention = std::chrono::hours(24 * 14);

/// The floor of consumer.dedup-retention (with the retry chain, see ReadLearningSettings): one
/// hour. Below it the inbox would forget messages that are still being retried or re-published
/// (relay.max-attempts at its default back-off takes ~14 min); it also catches a unit typo
/// ("14" is 14 ms, "14m" is minutes).
inline constexpr std::chrono::milliseconds kMinDedupRetention = std::chrono::hours(1);

/// The retention batch: $1 the age in ms, $2 the most rows. The oldest expired rows are found
/// by a range scan of processed_message_processed_at_idx (sql/learning/002_inbox_retention.sql)
/// that stops after LIMIT rows, locked, and deleted by their tuple ids (a Tid Scan: EXPLAIN
/// showed `message_key IN (subquery)` hash-joining a sequential scan of the whole inbox, and
/// `message_key = ANY(...)` costing 5000 primary-key probes). A ctid is stable here: the row is
/// locked by the same statement, so nothing can update or move it before the delete. SKIP
/// LOCKED: a row another replica's retention holds is left to it, never waited for. now() is
/// the database's clock, the one that stamped processed_at.
inline constexpr std::string_view kDeleteExpiredInbox = R"sql(
DELETE FROM processed_message
WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM processed_message
  WHERE processed_at < now() - $1::bigint * interval '1 millisecond'
  ORDER BY processed_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)))sql";

}  // namespace paynotify::learning

#pragma once

#include <chrono>
/// OutboxStore over PostgreSQL: claims due mq_message rows with FOR UPDATE SKIP LOCKED in
/// a transaction that stays open while the batch is published, then deletes the confirmed
/// rows (one statement) and reschedules or parks the others in that same transaction.
/// Several relays (threads, processes, replicas) may share one table: each row is claimed by
/// one at a time, and each business_key1 has at most one row claimed at a time. Needs the
/// parked_at column and partial indexes of sql/orders/003_outbox_parked.sql.
#include <memory>
#include <string>

#include "common/pg/connection.hpp"
#include "common/pg/settings.hpp"
#include "order-service/outbox/outbox_store.hpp"

namespace paynotify::order {

/// One thread (the relay's); owns one connection. A ClaimedBatch must be destroyed before
/// the next Claim() or Stats().
class PgOutboxStore final : public OutboxStore {
 public:
  /// A claim (or the stats query) is cancelled after this long: they take milliseconds, and
  /// one that takes this long has a plan gone wrong. A completion is never cancelled (it may
  /// wait for a lock, and its batch must not be published again for that).
  static constexpr std::chrono::milliseconds kStatementTimeout{30000};

  /// `keep_history`: move confirmed rows to mq_message_history instead of deleting them.
  /// `statement_timeout`: see kStatementTimeout (tests shorten it; must be positive). A
  /// statement cancelled by it refreshes the table's statistics (ANALYZE mq_message, when
  /// this role may) and throws OutboxUnavailable,
  /// so the relay backs off and its next claim is planned for the table as it is: a queue
  /// table ANALYZEd while empty otherwise gives a sudden backlog a claim plan that is
  /// quadratic in its size (bench/RESULTS.md 15).
  PgOutboxStore(pg::PgSettings settings, bool keep_history,
                std::chrono::milliseconds statement_timeout = kStatementTimeout);

  std::unique_ptr<ClaimedBatch> Claim(size_t limit) override;
  OutboxStats Stats() override;
  bool IsConnected() const noexcept { return holder_.IsConnected(); }
  /// Connects now (start-up check): pg::LoginRefused when the server refused us, else what
  /// pg::Connect throws (see pg::ConnectAtStart).
  void Connect() { pg::ConnectAtStart(holder_); }

 private:
  pg::ConnectionHolder holder_;
  bool keep_history_;
};

}  // namespace paynotify::order

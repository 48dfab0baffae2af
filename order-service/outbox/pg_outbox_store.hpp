#pragma once

#include <chrono>
/// OutboxStore over PostgreSQL: claims due mq_message rows with FOR UPDATE SKIP LOCKED in
/// a transaction that stays open while the batch is published, then deletes the confirmed
/// rows (one statement) and reschedules or parks the others in that same transaction.
/// Several relays (threads, processes, replicas) may share one table: each row is claimed by
/// one at a time, and each business_key1 has at most one row claimed at a time. Needs the
/// parked_at column and partial indexes of sql/orders/003_outbox_parked.sql.
#include <memory>
#include <optional>
#include <string>

#include "common/pg/connection.hpp"
#include "common/pg/settings.hpp"
#include "order-service/outbox/outbox_store.hpp"
#include "order-service/outbox/planner_statistics.hpp"

namespace paynotify::order {

/// One thread (the relay's); owns one connection. A ClaimedBatch must be destroyed before
/// the next Claim() or Stats().
class PgOutboxStore final : public OutboxStore {
 public:
  /// A claim (or the stats query) is cancelled after this long: they take milliseconds, and
  /// one that takes this long has a plan gone wrong. A completion is never cancelled (it may
  /// wait for a lock, and its batch must not be published again for that).
  static constexpr std::chrono::milliseconds kStatementTimeout{30000};

  /// A claim statement that takes this long (claims take milliseconds: 7 ms for 2,000 rows)
  /// makes the next claim check the statistics first (see below).
  static constexpr std::chrono::milliseconds kSlowClaim{100};
  /// The statistics are refreshed at most this often by the checks below (not by a timeout).
  static constexpr std::chrono::seconds kRefreshAtMostEvery{10};

  /// `keep_history`: move confirmed rows to mq_message_history instead of deleting them.
  ///
  /// A queue table ANALYZEd while it held only dead rows gives a sudden backlog a claim plan
  /// that is quadratic in its size; one truncated while empty, a plan that reads all of it
  /// (bench/RESULTS.md 15 and 17). So the store compares the rows its statistics describe
  /// with the rows it holds (planner_statistics.hpp) and runs ANALYZE mq_message (when this
  /// role may; a warning in the log either way) when they differ more than fourfold: in
  /// every Stats(), before the first claim on each connection, and
  /// before the claim that follows a claim statement (Claim or ClaimMore) that took
  /// `slow_claim` or longer; the batch of that statement, if it holds
  /// kStaleStatisticsMinRows rows or more, takes no more rows (ClaimMore returns 0). A check
  /// that fails is logged and the claim goes ahead. Per store, at most every
  /// kRefreshAtMostEvery: several relays (or replicas) that find the statistics stale at
  /// once may each run one ANALYZE. Tests change `slow_claim` (0: every claim counts as slow).
  ///
  /// `statement_timeout`: see kStatementTimeout (tests shorten it; must be positive). What
  /// the checks miss, it bounds: a statement cancelled by it refreshes the statistics too and
  /// throws OutboxUnavailable, so the relay backs off and its next claim is planned for the
  /// table as it is.
  PgOutboxStore(pg::PgSettings settings, bool keep_history,
                std::chrono::milliseconds statement_timeout = kStatementTimeout,
                std::chrono::milliseconds slow_claim = kSlowClaim);

  std::unique_ptr<ClaimedBatch> Claim(size_t limit) override;
  OutboxStats Stats() override;
  bool IsConnected() const noexcept { return holder_.IsConnected(); }
  /// Connects now (start-up check): pg::LoginRefused when the server refused us, else what
  /// pg::Connect throws (see pg::ConnectAtStart).
  void Connect() { pg::ConnectAtStart(holder_); }

 private:
  void RefreshStatisticsIfStale(pqxx::connection& conn, const PlannerView& planner);
  void CheckStatisticsBeforeClaim(pqxx::connection& conn) noexcept;

  pg::ConnectionHolder holder_;
  bool keep_history_;
  std::chrono::milliseconds slow_claim_;
  bool check_statistics_ = true;  // before the next claim: set on connecting and by a slow claim
                                  // statement
  std::optional<std::chrono::steady_clock::time_point> last_refresh_;
};

}  // namespace paynotify::order

#include "order-service/outbox/pg_outbox_store.hpp"

#include <optional>
#include <stdexcept>
#include <string>

#include <pqxx/pqxx>

#include "common/log/log.hpp"
#include "common/pg/array_literal.hpp"
#include "common/pg/errors.hpp"
#include "common/pg/failure.hpp"
#include "common/text/escape.hpp"

namespace paynotify::order {

namespace {

// ORDER BY id: publish in insertion order; SKIP LOCKED: rows another relay holds are left
// to it instead of waiting for its confirms. Parked rows are never claimed. NOT EXISTS keeps
// each business_key1 in id order: a row waits while an earlier unparked row of its key is
// left, whether that one backs off or another relay holds it (the subquery reads without
// locking, so a row locked elsewhere still holds its key back). A parked row does not hold
// its key back (see outbox_store.hpp). Both filters are served by partial indexes (003).
constexpr std::string_view kClaimWhere = R"(
  SELECT id, message_id::text, message_type, business_key1, business_key2, business_key3,
         execute_num
  FROM mq_message m
  WHERE m.parked_at IS NULL
    AND m.next_attempt_at <= statement_timestamp()
    AND NOT EXISTS (SELECT 1 FROM mq_message e
                    WHERE e.business_key1 = m.business_key1 AND e.id < m.id
                      AND e.parked_at IS NULL))";
constexpr std::string_view kClaimOrder = R"(
  ORDER BY m.id
  LIMIT $1
  FOR UPDATE OF m SKIP LOCKED)";
// ClaimedBatch::ClaimMore, in the claim's transaction: only rows above the batch's highest id
// ($2), because FOR UPDATE returns the rows this transaction already holds (SKIP LOCKED skips
// only other transactions' locks). Due is statement_timestamp(), not now(): now() is when the
// claim's transaction began, and a row inserted since is due from its own (later) now().
constexpr std::string_view kClaimAbove = R"(
    AND m.id > $2)";
constexpr std::string_view kDeleteConfirmed = R"(
  DELETE FROM mq_message WHERE id = ANY($1::bigint[]))";
constexpr std::string_view kMoveConfirmedToHistory = R"(
  WITH moved AS (DELETE FROM mq_message WHERE id = ANY($1::bigint[]) RETURNING *)
  INSERT INTO mq_message_history
    (id, message_id, message_type, business_key1, business_key2, business_key3, execute_num,
     state, returnfailure_date, returnsuccess_date, returnfailure_msg, execute_date,
     next_attempt_at, created_at)
  SELECT id, message_id, message_type, business_key1, business_key2, business_key3,
         execute_num, '1', returnfailure_date, clock_timestamp(), returnfailure_msg,
         clock_timestamp(), next_attempt_at, created_at
  FROM moved
  ON CONFLICT DO NOTHING)";
constexpr std::string_view kNoTimeout = "SET LOCAL statement_timeout = 0";

// `sql` with its one parameter, $1::bigint[], replaced by `quoted_array` (for a simple query).
std::string WithArray(std::string_view sql, const std::string& quoted_array) {
  constexpr std::string_view kParam = "$1::bigint[]";
  std::string out(sql);
  const size_t at = out.find(kParam);
  if (at == std::string::npos || out.find(kParam, at + 1) != std::string::npos) {
    throw std::logic_error("WithArray: the statement must use $1::bigint[] exactly once");
  }
  return out.replace(at, kParam.size(), quoted_array + "::bigint[]");
}

// clock_timestamp(), not now(): the back-off counts from the failed attempt, not from the
// claim (which may be a confirm timeout earlier).
constexpr std::string_view kScheduleRetry = R"(
  UPDATE mq_message
  SET execute_num = execute_num + 1,
      returnfailure_msg = left($2, 2048),
      returnfailure_date = clock_timestamp(),
      execute_date = clock_timestamp(),
      next_attempt_at = clock_timestamp() + $3::bigint * interval '1 millisecond'
  WHERE id = $1)";
// The last attempt: kept with its failure, never claimed again (parked_at set).
constexpr std::string_view kPark = R"(
  UPDATE mq_message
  SET execute_num = execute_num + 1,
      returnfailure_msg = left($2, 2048),
      returnfailure_date = clock_timestamp(),
      execute_date = clock_timestamp(),
      parked_at = clock_timestamp()
  WHERE id = $1)";
// Read from the table, not counted in memory: true across restarts and across relays. With
// the size its statistics describe (PlannerView).
constexpr std::string_view kStats = R"(
  WITH counted AS (
    SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
           COALESCE((EXTRACT(EPOCH FROM (now() - min(created_at) FILTER (WHERE parked_at IS NULL)))
                     * 1000)::bigint, 0) AS oldest_ms,
           count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked
    FROM mq_message)
  SELECT counted.pending, counted.oldest_ms, counted.parked,
         c.reltuples::float8, c.relpages::bigint,
         pg_relation_size(c.oid) / current_setting('block_size')::bigint
  FROM counted, pg_class c
  WHERE c.oid = 'mq_message'::regclass)";

void Prepare(pqxx::connection& conn, std::chrono::milliseconds statement_timeout) {
  // For the claims (see the constructor). Complete lifts it in its own transaction: a delete
  // that waits for a lock (a migration) must not be cancelled, or the batch would be
  // published again every timeout for as long as the lock is held.
  // A claim's transaction is idle while its rows are published and confirmed (up to
  // relay.confirm-timeout) and while the batch stays open for new rows (the relay's window,
  // 50 ms): a server-wide idle_in_transaction_session_timeout shorter than that would end
  // the session under every batch, and every confirmed row would be published again.
  pqxx::nontransaction(conn).exec0("SET statement_timeout = " + std::to_string(statement_timeout.count()) +
                                   "; SET idle_in_transaction_session_timeout = 0");
  conn.prepare("outbox_claim", std::string(kClaimWhere) + std::string(kClaimOrder));
  conn.prepare("outbox_claim_above",
               std::string(kClaimWhere) + std::string(kClaimAbove) + std::string(kClaimOrder));
  conn.prepare("outbox_schedule_retry", std::string(kScheduleRetry));
  conn.prepare("outbox_park", std::string(kPark));
  conn.prepare("outbox_stats", std::string(kStats));
}

// ANALYZE mq_message, so that the next claim is planned for the table as it is (see
// planner_statistics.hpp); says what it did, for the log. Only the table's owner, the
// database's owner or a superuser may ANALYZE; anyone else gets a warning, not an error, so
// that is checked first. It gives up after kAnalyzeLockTimeout rather than queue for its lock
// behind a VACUUM, another relay's ANALYZE or a CREATE INDEX CONCURRENTLY (claims do not
// wait for those), and before deadlock_timeout (1 s by default; a server that sets it lower
// lets a waiting ANALYZE cancel an autovacuum of the table, which then runs again later).
// Throws what the statements throw.
constexpr std::string_view kAnalyzeLockTimeout = "500ms";
std::string RefreshStatistics(pqxx::connection& conn) {
  pqxx::work tx(conn, "paynotify_relay_analyze");
  const bool may_analyze = tx.exec1(
      "SELECT pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE') OR r.rolsuper "
      "FROM pg_class c, pg_database d, pg_roles r WHERE c.oid = 'mq_message'::regclass "
      "AND d.datname = current_database() AND r.rolname = current_user")[0].as<bool>();
  if (!may_analyze) {
    return "statistics NOT refreshed: this role may not ANALYZE mq_message (it owns neither the "
           "table nor the database); run ANALYZE mq_message as its owner, or wait for autovacuum";
  }
  tx.exec0("SET LOCAL lock_timeout = '" + std::string(kAnalyzeLockTimeout) + "'");
  tx.exec0("ANALYZE mq_message");
  tx.commit();
  return "statistics refreshed (ANALYZE mq_message)";
}

// The relay's policy over the one translation (pg::Translate): a transient failure or an
// in-doubt commit is an outage (OutboxUnavailable: the relay backs off, unconfirmed rows are
// published again); anything else is rethrown as it is, a failure retrying will not fix.
[[noreturn]] void Rethrow(const std::exception& error, pg::ConnectionHolder& holder) {
  if (pg::SqlState(error) == "57014") {  // query_canceled: the claim's statement_timeout (or a
                                          // pg_cancel_backend, for which the ANALYZE is harmless)
    // The transaction is already rolled back. A claim that ran this long had a plan made for
    // statistics that no longer fit the table (see the constructor): refresh them, so the
    // retry is planned for the table as it is.
    std::string refreshed = "connection lost, statistics not refreshed";
    if (holder.HasOpenConnection()) {
      try {
        refreshed = RefreshStatistics(holder.Get());
      } catch (const std::exception& analyze_error) {
        refreshed = "ANALYZE mq_message failed too: " + pg::Translate(analyze_error, holder).detail;
      }
    }
    throw OutboxUnavailable(pg::Translate(error, holder).detail + "; " + refreshed);
  }
  const pg::Failure failure = pg::Translate(error, holder);
  if (failure.kind == pg::ErrorKind::kTransient || failure.kind == pg::ErrorKind::kInDoubt) {
    throw OutboxUnavailable(failure.detail);
  }
  throw;
}

struct StatsRow {
  OutboxStats stats;
  PlannerView planner;
};

StatsRow ReadStats(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn, "paynotify_relay_stats");
  const pqxx::row row = tx.exec_prepared1("outbox_stats");
  StatsRow out;
  out.stats = OutboxStats{row[0].as<int64_t>(), std::chrono::milliseconds(row[1].as<int64_t>()),
                          row[2].as<int64_t>()};
  out.planner = PlannerView{.reltuples = row[3].as<double>(),
                            .relpages = row[4].as<int64_t>(),
                            .current_pages = row[5].as<int64_t>(),
                            .rows = out.stats.pending + out.stats.parked};
  return out;
}

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

void AppendRecords(const pqxx::result& rows, std::vector<OutboxRecord>& records) {
  records.reserve(records.size() + rows.size());
  for (const auto& row : rows) {
    OutboxRecord r;
    r.id = row[0].as<int64_t>();
    r.message_id = row[1].as<std::string>();
    r.message_type = row[2].as<std::string>();
    r.business_key1 = OptionalText(row[3]);
    r.business_key2 = OptionalText(row[4]);
    r.business_key3 = OptionalText(row[5]);
    r.execute_num = row[6].as<int>();
    records.push_back(std::move(r));
  }
}

// Runs one claim statement (Claim or ClaimMore). Claims take milliseconds; one that takes
// `slow_claim` or longer may have been planned over statistics the table has outgrown (it
// filled faster than the last check saw): it sets `check_statistics`, so that the next
// Claim() checks them first (and a large batch takes no more rows).
template <typename Statement>
pqxx::result TimedClaim(bool& check_statistics, std::chrono::milliseconds slow_claim, Statement&& statement) {
  const auto started = std::chrono::steady_clock::now();
  pqxx::result rows = statement();
  if (std::chrono::steady_clock::now() - started >= slow_claim) check_statistics = true;
  return rows;
}

class PgClaimedBatch final : public ClaimedBatch {
 public:
  PgClaimedBatch(pg::ConnectionHolder& holder, std::unique_ptr<pqxx::work> work,
                 std::vector<OutboxRecord> records, bool keep_history, bool& check_statistics,
                 std::chrono::milliseconds slow_claim)
      : holder_(holder),
        work_(std::move(work)),
        records_(std::move(records)),
        keep_history_(keep_history),
        check_statistics_(check_statistics),
        slow_claim_(slow_claim) {}

  ~PgClaimedBatch() override { work_.reset(); }  // not completed: rollback releases the claim

  const std::vector<OutboxRecord>& Records() const override { return records_; }

  size_t ClaimMore(size_t limit) override {
    if (!work_) throw std::logic_error("ClaimedBatch::ClaimMore after Complete");
    if (limit == 0 || records_.empty()) return 0;
    // A claim statement was slow and this batch is a backlog's: rather than another statement
    // over what may be the same plan (6 s after a 1 s claim in RESULTS.md 17), the batch takes
    // no more rows (the relay completes it at its next wake-up or when its 50 ms window ends),
    // and the next Claim() checks the statistics first. (A small batch extends still: a stale
    // plan costs with the rows, and a claim of a few can be slow for other reasons, a busy
    // machine.)
    if (check_statistics_ && records_.size() >= static_cast<size_t>(kStaleStatisticsMinRows)) return 0;
    const size_t before = records_.size();
    try {
      AppendRecords(TimedClaim(check_statistics_, slow_claim_,
                               [&] {
                                 return work_->exec_prepared("outbox_claim_above", static_cast<int64_t>(limit),
                                                             records_.back().id);
                               }),
                    records_);
    } catch (const std::exception& e) {
      work_.reset();
      Rethrow(e, holder_);
    }
    return records_.size() - before;
  }

  void Complete(const std::vector<int64_t>& confirmed, const std::vector<OutboxRetry>& retries) override {
    if (!work_) throw std::logic_error("ClaimedBatch::Complete called twice");
    try {
      // No statement_timeout for the completion (see Prepare), sent with the delete as one
      // simple query: no round trip of its own. The ids are integers, quoted as a literal.
      if (confirmed.empty()) {
        work_->exec0(std::string(kNoTimeout));
      } else {
        work_->exec0(std::string(kNoTimeout) + ";" +
                     WithArray(keep_history_ ? kMoveConfirmedToHistory : kDeleteConfirmed,
                               work_->quote(pg::ArrayLiteral(confirmed))));
      }
      for (const OutboxRetry& retry : retries) {
        if (retry.park) {
          work_->exec_prepared0("outbox_park", retry.id, retry.reason);
        } else {
          work_->exec_prepared0("outbox_schedule_retry", retry.id, retry.reason,
                                static_cast<int64_t>(retry.delay.count()));
        }
      }
      work_->commit();
      work_.reset();
    } catch (const std::exception& e) {
      work_.reset();
      Rethrow(e, holder_);
    }
  }

 private:
  pg::ConnectionHolder& holder_;
  std::unique_ptr<pqxx::work> work_;
  std::vector<OutboxRecord> records_;
  bool keep_history_;
  bool& check_statistics_;  // the store's: see TimedClaim
  std::chrono::milliseconds slow_claim_;
};

}  // namespace

PgOutboxStore::PgOutboxStore(pg::PgSettings settings, bool keep_history,
                             std::chrono::milliseconds statement_timeout, std::chrono::milliseconds slow_claim)
    : holder_(std::move(settings),
              [this, statement_timeout](pqxx::connection& conn) {
                Prepare(conn, statement_timeout);
                // A new connection (start-up, or back from an outage) may meet a backlog that
                // built up meanwhile: its first claim checks the statistics first.
                check_statistics_ = true;
              }),
      keep_history_(keep_history),
      slow_claim_(slow_claim) {
  if (statement_timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("PgOutboxStore: statement_timeout must be positive");
  }
}

void PgOutboxStore::RefreshStatisticsIfStale(pqxx::connection& conn, const PlannerView& planner) {
  if (!StatisticsAreStale(planner)) return;
  const auto now = std::chrono::steady_clock::now();
  // An ANALYZE fixes them for good unless the table outgrows them again; one that could not
  // (a role that does not own the table) must not be retried, and logged, at every check.
  if (last_refresh_ && now - *last_refresh_ < kRefreshAtMostEvery) return;
  last_refresh_ = now;
  std::string outcome;
  try {
    outcome = RefreshStatistics(conn);
  } catch (const std::exception& e) {
    // Not an outage by itself: the claim that follows reports one if there is one. `conn`
    // is not used after this (Translate drops a lost connection).
    outcome = "ANALYZE mq_message failed: " + pg::Translate(e, holder_).detail;
  }
  log::Get("pg")->warn(
      "outbox statistics stale application_name={}: they describe about {:.0f} row(s) in "
      "mq_message, it holds {} (reltuples {:.0f} over {} pages, {} pages now); {}",
      text::Printable(holder_.Settings().application_name), RowsDescribed(planner), planner.rows,
      planner.reltuples, planner.relpages, planner.current_pages, text::Printable(outcome));
}

void PgOutboxStore::CheckStatisticsBeforeClaim(pqxx::connection& conn) noexcept {
  try {
    RefreshStatisticsIfStale(conn, ReadStats(conn).planner);
  } catch (const std::exception& e) {
    // The claim goes ahead: the check must never be what keeps the relay from claiming (its
    // count reads the whole table, and could run into the statement timeout where a claim
    // would not). An outage shows in the claim that follows. `conn` is not used after this.
    log::Get("pg")->warn("outbox statistics not checked application_name={}: {}",
                         text::Printable(holder_.Settings().application_name),
                         text::Printable(pg::Translate(e, holder_).detail));
  } catch (...) {
    // Nothing else is thrown here (noexcept): the claim goes ahead.
  }
}

std::unique_ptr<ClaimedBatch> PgOutboxStore::Claim(size_t limit) {
  std::unique_ptr<pqxx::work> work;
  try {
    if (check_statistics_) {
      pqxx::connection& conn = holder_.Get();  // failing to connect is the claim's failure
      check_statistics_ = false;
      CheckStatisticsBeforeClaim(conn);
    }
    // Get() again: a failed check may have dropped a lost connection (pg::Translate).
    work = std::make_unique<pqxx::work>(holder_.Get(), "paynotify_relay_claim");
    std::vector<OutboxRecord> records;
    AppendRecords(TimedClaim(check_statistics_, slow_claim_,
                             [&] { return work->exec_prepared("outbox_claim", static_cast<int64_t>(limit)); }),
                  records);
    if (records.empty()) {
      work->commit();  // nothing claimed: end the transaction now rather than hold it open
      work.reset();
    }
    return std::make_unique<PgClaimedBatch>(holder_, std::move(work), std::move(records), keep_history_,
                                            check_statistics_, slow_claim_);
  } catch (const std::exception& e) {
    work.reset();
    Rethrow(e, holder_);
  }
}

OutboxStats PgOutboxStore::Stats() {
  try {
    pqxx::connection& conn = holder_.Get();
    const StatsRow row = ReadStats(conn);
    RefreshStatisticsIfStale(conn, row.planner);
    return row.stats;
  } catch (const std::exception& e) {
    Rethrow(e, holder_);
  }
}

}  // namespace paynotify::order

// The retention scenario (issue 11 §4): learning-service's apply rate while its retention
// deletes a backlog of expired inbox rows, against the rate without a backlog, and the inbox's
// size before and after the deletion (and after VACUUM).
//
// It runs in a database of its own on the shared server (created, migrated from this tree's
// sql/learning and dropped again), so a million rows never reach the tables other tests use.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <regex>

#include <pqxx/pqxx>

#include "bench/proc_stats.hpp"
#include "bench/raw_limits.hpp"
#include "bench/scenarios.hpp"
#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/topology.hpp"
#include "common/pg/array_literal.hpp"
#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/migrations.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::bench {

namespace t = paynotify::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kBenchDb = "paynotify_bench_retention";

void Admin(const std::string& sql) {
  pqxx::connection conn(t::PgConnString(t::RequireEnv("PAYNOTIFY_LEARNING_DB")));
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

/// A learning database of the bench's own for the scenario's lifetime: created fresh, built
/// from sql/learning, and made THE learning database of this process (PAYNOTIFY_LEARNING_DB,
/// which the harness hands to learning-service); dropped and the variable restored at the end.
class BenchDatabase {
 public:
  BenchDatabase() : previous_(t::RequireEnv("PAYNOTIFY_LEARNING_DB")) {
    Admin(std::string("DROP DATABASE IF EXISTS ") + kBenchDb + " WITH (FORCE)");
    Admin(std::string("CREATE DATABASE ") + kBenchDb);
    ::setenv("PAYNOTIFY_LEARNING_DB", kBenchDb, 1);
    pqxx::connection conn(t::PgConnString(kBenchDb));
    for (const std::string& sql : t::ReadMigrations(PAYNOTIFY_LEARNING_SQL_DIR)) {
      pqxx::work tx(conn);
      tx.exec(sql);
      tx.commit();
    }
  }
  ~BenchDatabase() {
    ::setenv("PAYNOTIFY_LEARNING_DB", previous_.c_str(), 1);
    try {
      Admin(std::string("DROP DATABASE IF EXISTS ") + kBenchDb + " WITH (FORCE)");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench: dropping %s failed: %s\n", kBenchDb, e.what());
    }
  }

 private:
  std::string previous_;
};

int64_t Scalar(const std::string& sql) {
  pqxx::connection conn(t::PgConnString(kBenchDb));
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<int64_t>();
}

double InboxMiB() {
  return static_cast<double>(Scalar("SELECT pg_total_relation_size('processed_message')")) / (1024.0 * 1024.0);
}

/// A value of learning-service's /metrics for the inbox retention (0 when absent).
double RetentionMetric(e2e::PaySystem& sys, const std::string& name) {
  const std::string text = sys.Metrics(false, 0);
  const std::regex line("(^|\n)" + name + "\\{table=\"processed_message\"\\} ([0-9.e+]+)");
  std::smatch m;
  return std::regex_search(text, m, line) ? std::stod(m[2].str()) : 0.0;
}

struct ApplyResult {
  double rate = 0;             // first to last course row, database timestamps
  double retention_rows = 0;   // rows the retention had deleted when the last message was applied
  Clock::time_point started;   // just before learning-service (and with it the retention) started
};

/// Fills the queue with `k` payments while learning-service is stopped, starts it and waits
/// until all are applied; checks that each was applied once. Leaves it running.
ApplyResult ApplyBatch(e2e::PaySystem& sys, int k, const std::string& tag) {
  const auto selections = sys.CreateSelections(k);
  {
    std::vector<amqp::OutgoingMessage> batch;
    batch.reserve(k);
    for (int i = 0; i < k; ++i) {
      batch.push_back(BenchMessage("", sys.Queue(), i + 1, selections[i], tag + "-" + std::to_string(i)));
    }
    amqp::ConfirmPublisher publisher(BrokerSettings("paynotify-bench-fill"), 1000);
    const auto outcomes = publisher.PublishBatch(batch, 120s);
    Require(std::count(outcomes.begin(), outcomes.end(), amqp::PublishOutcome::kConfirmed) == k,
            "retention: pre-fill not confirmed");
  }
  ApplyResult r;
  r.started = Clock::now();
  sys.StartLearning(0);
  const auto [lo, hi] = std::minmax_element(selections.begin(), selections.end());
  pqxx::connection poll(t::PgConnString(kBenchDb));
  const bool done = t::WaitFor(
      [&] {
        pqxx::work tx(poll);
        return tx.exec_params1("SELECT count(*) FROM xc_course_tables WHERE choose_course_id BETWEEN $1 AND $2", *lo,
                               *hi)[0]
                   .as<int64_t>() >= k;
      },
      900s, 50ms);
  r.retention_rows = RetentionMetric(sys, "paynotify_retention_deleted_rows_total");
  Require(done, "retention: not all applied within 900s");
  pqxx::work tx(poll);
  const std::string ids = pg::ArrayLiteral(selections);
  const double span = tx.exec_params1("SELECT extract(epoch from max(create_date) - min(create_date))::float8 FROM "
                                      "xc_course_tables WHERE choose_course_id = ANY($1::bigint[])",
                                      ids)[0]
                          .as<double>();
  const int64_t paid =
      tx.exec_params1("SELECT count(*) FROM xc_choose_course WHERE id = ANY($1::bigint[]) AND status = '701001'", ids)[0]
          .as<int64_t>();
  const int64_t inbox =
      tx.exec_params1("SELECT count(*) FROM processed_message WHERE message_key LIKE $1 || '-%'", tag)[0].as<int64_t>();
  Require(paid == k && inbox == k, "retention: selections_paid=" + std::to_string(paid) + " inbox=" +
                                       std::to_string(inbox) + " expected " + std::to_string(k));
  r.rate = (k - 1) / std::max(span, 1e-6);
  return r;
}

}  // namespace

Figures ScenarioRetention(const Options& o) {
  // Runs alternate which half goes first, so neither always meets a warmer (or more bloated)
  // server: run 1 measures without the backlog first, run 2 with it first, ...
  static int run_number = 0;
  const bool backlog_first = (run_number++ % 2) == 1;
  Figures f;
  BenchDatabase db;
  e2e::PaySystem sys("bench-retention", 0, 1, {}, DaemonEnv(o));
  sys.SetApplyAudit(false);
  sys.StartLearning(0);  // declares the queues; stopped so the queue fills while no one consumes
  Require(sys.StopLearning(0) == 0, "retention: learning-service did not stop cleanly");

  auto without_backlog = [&] {
    const ApplyResult r = ApplyBatch(sys, o.k, t::UniqueName("bench-ret-a"));
    Require(sys.StopLearning(0) == 0, "retention: learning-service did not stop cleanly");
    f.Set("apply_msg_per_s_without_backlog", r.rate, "1/s");
  };
  auto with_backlog = [&] {
    // The backlog: o.backlog inbox rows from 15 to ~16 days old (all past the 14-day default).
    {
      pqxx::connection c(t::PgConnString(kBenchDb));
      pqxx::work tx(c);
      tx.exec_params("INSERT INTO processed_message (message_key, processed_at) SELECT 'expired-' || g, now() - "
                     "interval '15 days' - g * interval '50 milliseconds' FROM generate_series(1, $1) g",
                     o.backlog);
      tx.commit();
    }
    {
      pqxx::connection c(t::PgConnString(kBenchDb));
      pqxx::nontransaction tx(c);
      tx.exec("VACUUM ANALYZE processed_message");  // as autovacuum would have, long before rows expire
    }
    const int64_t rows_before = Scalar("SELECT count(*) FROM processed_message");
    f.Set("inbox_rows_before", static_cast<double>(rows_before), "rows");
    f.Set("inbox_mib_before_deletion", InboxMiB(), "MiB");
    const ApplyResult r = ApplyBatch(sys, o.k, t::UniqueName("bench-ret-b"));
    f.Set("apply_msg_per_s_while_deleting", r.rate, "1/s");
    f.Set("backlog_rows_deleted_when_all_applied", r.retention_rows, "rows");
    if (r.retention_rows >= o.backlog) {
      std::fprintf(stderr, "bench: retention: the backlog was gone before the last message was applied: the rate "
                           "above was not measured wholly during deletion (raise --backlog or --k)\n");
    }
    const bool deleted = t::WaitFor(
        [&] { return RetentionMetric(sys, "paynotify_retention_deleted_rows_total") >= o.backlog; }, 1800s, 100ms);
    // From the daemon's start (not from the pre-fill before it), to the poll that saw the last
    // row deleted (100 ms resolution).
    const double delete_s = Seconds(Clock::now() - r.started);
    Require(deleted, "retention: backlog not deleted within 1800s");
    const double batches = RetentionMetric(sys, "paynotify_retention_batch_duration_seconds_count");
    const double batch_sum = RetentionMetric(sys, "paynotify_retention_batch_duration_seconds_sum");
    Require(RetentionMetric(sys, "paynotify_retention_errors_total") == 0, "retention: the retention reported errors");
    Require(sys.StopLearning(0) == 0, "retention: learning-service did not stop cleanly");
    // Exactly the expired rows went: the backlog, and none of the fresh ones just applied.
    Require(Scalar("SELECT count(*) FROM processed_message WHERE message_key LIKE 'expired-%'") == 0,
            "retention: expired rows left");
    Require(Scalar("SELECT count(*) FROM processed_message") == rows_before - o.backlog + o.k,
            "retention: rows other than the expired ones were deleted");
    f.Set("backlog_delete_s", delete_s, "s");
    f.Set("backlog_delete_rows_per_s", o.backlog / delete_s, "1/s");
    f.Set("retention_batch_mean_ms", batches > 0 ? batch_sum * 1000.0 / batches : 0, "ms");
    f.Set("inbox_mib_after_deletion", InboxMiB(), "MiB");
    {
      pqxx::connection c(t::PgConnString(kBenchDb));
      pqxx::nontransaction tx(c);
      tx.exec("VACUUM processed_message");
      f.Set("inbox_mib_after_vacuum", InboxMiB(), "MiB");
      tx.exec("VACUUM FULL processed_message");  // for reference: takes an exclusive lock
      f.Set("inbox_mib_after_vacuum_full", InboxMiB(), "MiB");
    }
  };
  if (backlog_first) {
    with_backlog();
    without_backlog();
  } else {
    without_backlog();
    with_backlog();
  }
  f.Set("apply_ratio_while_deleting", f.values["apply_msg_per_s_while_deleting"] /
                                          f.values["apply_msg_per_s_without_backlog"], "ratio");
  f.Set("backlog_first", backlog_first ? 1 : 0, "bool");
  // Opened only now: an idle connection would miss its heartbeats during the run.
  auto conn = amqp::Connection::Open(BrokerSettings("paynotify-bench-topology"));
  Require(amqp::MessageCount(*conn, sys.Queue() + ".dlq") == 0, "retention: messages were dead-lettered");
  return f;
}

}  // namespace paynotify::bench

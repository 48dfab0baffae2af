// Retention deletes exactly the expired rows, oldest first, in bounded batches, through an
// index range scan, never waiting for rows another transaction holds; a database it cannot
// reach only makes it back off. Both tables: learning's inbox (processed_message) and order's
// history (mq_message_history), each test in a private schema of the real database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include <pqxx/pqxx>

#include "common/metrics/registry.hpp"
#include "common/retention/pg_batch_deleter.hpp"
#include "common/retention/retention_loop.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/enrollment/inbox_retention.hpp"
#include "order-service/outbox/history_retention.hpp"
#include "tests/support/migrations.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::retention {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::PgConnString;
using paynotify::testing::UniqueName;

constexpr std::chrono::milliseconds k14d = 14 * 24h;
constexpr std::chrono::milliseconds k30d = 30 * 24h;

std::string Identifier(std::string name) {
  for (char& c : name) {
    if (c == '.' || c == '-') c = '_';
  }
  return name;
}

// A private schema of `dbname`, built from the migrations in `sql_dir` (file-name order, as
// scripts/infra migrate applies them). PGOPTIONS puts it first on every connection of this
// process, so the daemons' unqualified statements run against it.
class PrivateSchema {
 public:
  PrivateSchema(std::string dbname, const char* sql_dir)
      : dbname_(std::move(dbname)), schema_(Identifier(UniqueName("retention_it"))) {
    const std::string options = "-c search_path=" + schema_ + ",public";
    ::setenv("PGOPTIONS", options.c_str(), 1);
    Exec("CREATE SCHEMA " + schema_);
    for (const std::string& sql : paynotify::testing::ReadMigrations(sql_dir)) Exec(sql);
  }
  ~PrivateSchema() {
    try {
      Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping schema " << schema_ << " failed: " << e.what();
    }
    ::unsetenv("PGOPTIONS");
  }

  pqxx::result Exec(const std::string& sql) {
    pqxx::connection conn(PgConnString(dbname_));
    pqxx::work tx(conn);
    pqxx::result r = tx.exec(sql);
    tx.commit();
    return r;
  }
  int64_t Count(const std::string& sql) { return Exec(sql)[0][0].as<int64_t>(); }
  pg::PgSettings Settings() const { return paynotify::testing::PgSettingsFromEnv(dbname_, "retention-it"); }
  const std::string& Db() const { return dbname_; }

 private:
  std::string dbname_;
  std::string schema_;
};

// Every node type and index name of the statement's plan, from EXPLAIN (FORMAT JSON) as text.
std::string Plan(PrivateSchema& db, std::string_view statement, std::chrono::milliseconds age, int64_t limit) {
  pqxx::connection conn(PgConnString(db.Db()));
  pqxx::work tx(conn);
  // The plan the deleter gets once its prepared statement goes generic: parameters unknown.
  tx.exec("SET LOCAL plan_cache_mode = force_generic_plan");
  tx.exec("PREPARE explained(bigint, bigint) AS " + std::string(statement));
  const auto r = tx.exec("EXPLAIN (FORMAT JSON) EXECUTE explained(" + std::to_string(age.count()) + ", " +
                         std::to_string(limit) + ")");
  return r[0][0].as<std::string>();
}

// Deletes with `deleter` until a batch comes back below `limit`; the batch sizes, in order.
std::vector<size_t> DrainInBatches(BatchDeleter& deleter, std::chrono::milliseconds age, size_t limit) {
  std::vector<size_t> batches;
  for (int i = 0; i < 1000; ++i) {
    batches.push_back(deleter.DeleteBatch(age, limit));
    if (batches.back() < limit) break;
  }
  return batches;
}

class InboxRetention : public ::testing::Test {
 protected:
  PrivateSchema db_{paynotify::testing::LearningDb(), PAYNOTIFY_LEARNING_SQL_DIR};

  // `n` rows key<prefix><i>, stamped `age` + i ms ago (i = 1..n: higher i = older).
  void Insert(const std::string& prefix, int n, const std::string& age) {
    db_.Exec("INSERT INTO processed_message (message_key, processed_at) SELECT '" + prefix +
             "' || g, now() - interval '" + age + "' - g * interval '1 millisecond' FROM generate_series(1, " +
             std::to_string(n) + ") g");
  }
};

TEST_F(InboxRetention, DeletesExactlyTheExpiredRowsOldestFirstInBatches) {
  Insert("old", 12000, "15 days");                  // expired
  Insert("out", 3, "14 days 1 minute");             // just outside the window: expired
  Insert("in", 3, "13 days 23 hours 59 minutes");   // just inside the window: kept
  Insert("new", 500, "0 seconds");                  // fresh: kept
  PgBatchDeleter deleter(db_.Settings(), std::string(learning::kDeleteExpiredInbox));

  // The first batch takes the 5000 OLDEST rows: old5001..old12000 (higher g = older).
  EXPECT_EQ(deleter.DeleteBatch(k14d, 5000), 5000u);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM processed_message WHERE message_key LIKE 'old%' "
                      "AND substr(message_key, 4)::int > 7000"),
            0);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM processed_message WHERE message_key LIKE 'old%'"), 7000);

  EXPECT_THAT(DrainInBatches(deleter, k14d, 5000), ::testing::ElementsAre(5000u, 2003u));
  EXPECT_EQ(db_.Count("SELECT count(*) FROM processed_message WHERE message_key LIKE 'old%' OR message_key LIKE "
                      "'out%'"),
            0);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM processed_message WHERE message_key LIKE 'in%'"), 3);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM processed_message WHERE message_key LIKE 'new%'"), 500);
  EXPECT_EQ(deleter.DeleteBatch(k14d, 5000), 0u);  // nothing left: idempotent
}

TEST_F(InboxRetention, ARowExactlyAsOldAsTheRetentionIsKept) {
  // Within one transaction now() does not move: the row's age equals the retention exactly.
  pqxx::connection conn(PgConnString(db_.Db()));
  pqxx::work tx(conn);
  tx.exec("INSERT INTO processed_message VALUES ('edge', now() - interval '14 days'), "
          "('edge-1us', now() - interval '14 days 1 microsecond')");
  const auto r = tx.exec_params(std::string(learning::kDeleteExpiredInbox),
                                static_cast<int64_t>(k14d.count()), int64_t{100});
  EXPECT_EQ(r.affected_rows(), 1u);
  EXPECT_EQ(tx.exec1("SELECT string_agg(message_key, ',') FROM processed_message")[0].as<std::string>(), "edge");
}

TEST_F(InboxRetention, EachBatchIsAnIndexRangeScanNeverASequentialScan) {
  Insert("old", 20000, "15 days");
  Insert("new", 20000, "0 seconds");
  db_.Exec("ANALYZE processed_message");
  const std::string plan = Plan(db_, learning::kDeleteExpiredInbox, k14d, 5000);
  EXPECT_THAT(plan, ::testing::HasSubstr("\"Index Name\": \"processed_message_processed_at_idx\"")) << plan;
  EXPECT_THAT(plan, ::testing::HasSubstr("\"Node Type\": \"Limit\"")) << plan;
  EXPECT_THAT(plan, ::testing::HasSubstr("\"Node Type\": \"Tid Scan\"")) << plan;
  EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("Seq Scan"))) << plan;
}

TEST_F(InboxRetention, RowsAnotherTransactionHoldsAreSkippedNotWaitedFor) {
  Insert("old", 100, "15 days");
  pqxx::connection holder_conn(PgConnString(db_.Db()));
  pqxx::work holder(holder_conn);
  // The 10 oldest rows, locked as a racing replica's retention (or a writer) would hold them.
  holder.exec("SELECT 1 FROM processed_message ORDER BY processed_at LIMIT 10 FOR UPDATE");
  PgBatchDeleter deleter(db_.Settings(), std::string(learning::kDeleteExpiredInbox));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(deleter.DeleteBatch(k14d, 1000), 90u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);  // below lock_timeout: no wait at all
  holder.abort();
  EXPECT_EQ(deleter.DeleteBatch(k14d, 1000), 10u);
}

TEST_F(InboxRetention, TheLoopDeletesTheBacklogInPacedBatchesThenIdles) {
  Insert("old", 2500, "15 days");
  Insert("new", 10, "0 seconds");
  PgBatchDeleter deleter(db_.Settings(), std::string(learning::kDeleteExpiredInbox));
  metrics::Registry registry;
  RetentionMetrics metrics(registry, "processed_message");
  runtime::ManualClock clock;
  RetentionSettings s;
  s.retention = k14d;
  s.batch_size = 1000;
  s.batch_pause = 20ms;
  s.idle_interval = 30s;
  RetentionLoop loop("processed_message", deleter, s, metrics, clock);
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 4; ++i) waits.push_back(loop.Step());
  EXPECT_THAT(waits, ::testing::ElementsAre(20ms, 20ms, 30s, 30s));  // 1000, 1000, 500, 0
  EXPECT_EQ(metrics.deleted_rows.Value(), 2500);
  EXPECT_EQ(metrics.batches.Value(), 4);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM processed_message"), 10);
}

class HistoryRetention : public ::testing::Test {
 protected:
  PrivateSchema db_{paynotify::testing::OrdersDb(), PAYNOTIFY_ORDERS_SQL_DIR};

  // `n` history rows with ids from `first_id`, confirmed `confirmed_ago` ago (NULL: never) and
  // created `created_ago` ago.
  void Insert(int64_t first_id, int n, const std::string& confirmed_ago, const std::string& created_ago) {
    const std::string confirmed =
        confirmed_ago == "NULL" ? "NULL" : "now() - interval '" + confirmed_ago + "' - g * interval '1 millisecond'";
    db_.Exec("INSERT INTO mq_message_history (id, message_id, message_type, returnsuccess_date, created_at) "
             "SELECT " + std::to_string(first_id) + " + g, gen_random_uuid(), 'payresult_notify', " + confirmed +
             ", now() - interval '" + created_ago + "' - g * interval '1 millisecond' FROM generate_series(0, " +
             std::to_string(n - 1) + ") g");
  }
  int64_t CountIds(int64_t from, int64_t to) {
    return db_.Count("SELECT count(*) FROM mq_message_history WHERE id BETWEEN " + std::to_string(from) + " AND " +
                     std::to_string(to));
  }
};

TEST_F(HistoryRetention, DeletesExactlyTheExpiredRowsCountingFromTheConfirm) {
  Insert(1, 6000, "31 days", "31 days");               // confirmed long ago: expired
  Insert(10001, 2, "30 days 1 minute", "30 days 2 minutes");  // just outside: expired
  Insert(20001, 2, "29 days 23 hours 59 minutes", "40 days");  // parked, requeued, confirmed inside: kept
  Insert(30001, 5, "NULL", "31 days");                 // no confirm time, created long ago: expired
  Insert(40001, 5, "NULL", "1 day");                   // no confirm time, created recently: kept
  Insert(50001, 100, "1 second", "1 second");          // fresh: kept
  PgBatchDeleter deleter(db_.Settings(), std::string(order::kDeleteExpiredHistory));

  EXPECT_THAT(DrainInBatches(deleter, k30d, 2500), ::testing::ElementsAre(2500u, 2500u, 1007u));
  EXPECT_EQ(CountIds(1, 6000), 0);
  EXPECT_EQ(CountIds(10001, 10002), 0);
  EXPECT_EQ(CountIds(20001, 20002), 2);
  EXPECT_EQ(CountIds(30001, 30005), 0);
  EXPECT_EQ(CountIds(40001, 40005), 5);
  EXPECT_EQ(CountIds(50001, 50100), 100);
}

TEST_F(HistoryRetention, EachBatchIsAnIndexRangeScanNeverASequentialScan) {
  Insert(1, 20000, "31 days", "31 days");
  Insert(100001, 20000, "1 second", "1 second");
  db_.Exec("ANALYZE mq_message_history");
  const std::string plan = Plan(db_, order::kDeleteExpiredHistory, k30d, 5000);
  EXPECT_THAT(plan, ::testing::HasSubstr("\"Index Name\": \"mq_message_history_retention_idx\"")) << plan;
  EXPECT_THAT(plan, ::testing::HasSubstr("\"Node Type\": \"Tid Scan\"")) << plan;
  EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("Seq Scan"))) << plan;
}

// A database that cannot be reached: each batch throws a transient error (the loop backs off
// and logs once; tests/unit/retention covers that schedule), and the deleter works as soon as
// the settings point at a live server again (a new deleter here: the same code path as a
// reconnect after the server comes back).
TEST(RetentionOutage, AnUnreachableDatabaseIsATransientFailureAndTheLoopBacksOff) {
  pg::PgSettings down = paynotify::testing::PgSettingsFromEnv(paynotify::testing::LearningDb(), "retention-it");
  down.host = "127.0.0.1";
  down.port = 1;  // nothing listens there
  down.connect_timeout_s = 1;
  PgBatchDeleter deleter(down, std::string(learning::kDeleteExpiredInbox));
  try {
    deleter.DeleteBatch(k14d, 10);
    ADD_FAILURE() << "expected a failure";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::StartsWith("transient: ")) << e.what();
  }
  metrics::Registry registry;
  RetentionMetrics metrics(registry, "processed_message");
  runtime::ManualClock clock;
  RetentionSettings s;
  s.backoff = {100ms, 2.0, 400ms};
  RetentionLoop loop("processed_message", deleter, s, metrics, clock);
  EXPECT_EQ(loop.Step(), 100ms);
  EXPECT_EQ(loop.Step(), 200ms);
  EXPECT_TRUE(loop.Failing());
  EXPECT_EQ(metrics.errors.Value(), 2);
}

}  // namespace
}  // namespace paynotify::retention

#include "common/pg/retry.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <pqxx/pqxx>

#include "tests/integration/pg/pg_test_env.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::pg {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::UniqueName;

const runtime::BackoffPolicy kFast{10ms, 2.0, 50ms};

int64_t CountRows(const testing::ScopedTable& table) {
  auto conn = testing::Admin();
  pqxx::nontransaction tx(*conn);
  return tx.exec1("SELECT count(*) FROM " + table.Name())[0].as<int64_t>();
}

TEST(RunWithRetry, ReturnsTheResultOfWork) {
  ConnectionHolder holder(testing::OrdersSettings());
  const int value = RunWithRetry(holder, kFast, 3, {}, [](pqxx::connection& c) {
    pqxx::work tx(c);
    const int v = tx.exec1("SELECT 41 + 1")[0].as<int>();
    tx.commit();
    return v;
  });
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(holder.IsConnected());
}

TEST(RunWithRetry, SurvivesItsBackendBeingTerminatedMidWork) {
  testing::ScopedTable table("id int PRIMARY KEY");
  ConnectionHolder holder(testing::OrdersSettings(UniqueName("pg-retry")));
  std::vector<int> pids;
  int calls = 0;
  RunWithRetry(holder, kFast, 5, {}, [&](pqxx::connection& c) {
    ++calls;
    pids.push_back(c.backendpid());
    pqxx::work tx(c);
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (1)");
    if (calls == 1) {
      // Killed before COMMIT was sent: the insert is rolled back, so repeating is safe.
      testing::TerminateBackend(c.backendpid());
      tx.exec0("INSERT INTO " + table.Name() + " VALUES (2)");  // fails: connection gone
    }
    tx.commit();
  });
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_NE(pids[0], pids[1]) << "the second attempt must run on a new connection";
  EXPECT_EQ(CountRows(table), 1);
  EXPECT_TRUE(holder.IsConnected());
}

TEST(RunWithRetry, RetriesASerializationFailure) {
  testing::ScopedTable table("id int PRIMARY KEY, v int NOT NULL");
  {
    auto admin = testing::Admin();
    pqxx::work tx(*admin);
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (1, 0)");
    tx.commit();
  }
  ConnectionHolder holder(testing::OrdersSettings());
  int calls = 0;
  RunWithRetry(holder, kFast, 3, {}, [&](pqxx::connection& c) {
    ++calls;
    pqxx::transaction<pqxx::serializable> tx(c);
    tx.exec1("SELECT v FROM " + table.Name() + " WHERE id = 1");
    if (calls == 1) {  // a concurrent writer commits after our snapshot
      auto other = testing::Admin();
      pqxx::work w(*other);
      w.exec0("UPDATE " + table.Name() + " SET v = v + 10 WHERE id = 1");
      w.commit();
    }
    tx.exec0("UPDATE " + table.Name() + " SET v = v + 1 WHERE id = 1");
    tx.commit();
  });
  EXPECT_EQ(calls, 2);
  auto admin = testing::Admin();
  pqxx::nontransaction tx(*admin);
  EXPECT_EQ(tx.exec1("SELECT v FROM " + table.Name() + " WHERE id = 1")[0].as<int>(), 11);
}

TEST(RunWithRetry, NeverRetriesAnInDoubtCommit) {
  testing::ScopedTable table("id int PRIMARY KEY");
  ConnectionHolder holder(testing::OrdersSettings());
  int calls = 0;
  try {
    RunWithRetry(holder, kFast, 5, {}, [&](pqxx::connection& c) {
      ++calls;
      pqxx::work tx(c);
      tx.exec0("INSERT INTO " + table.Name() + " VALUES (1)");
      testing::TerminateBackend(c.backendpid());
      tx.commit();  // the connection is gone while committing: outcome unknown
    });
    FAIL() << "expected pqxx::in_doubt_error";
  } catch (const pqxx::in_doubt_error& e) {
    EXPECT_EQ(Classify(e), ErrorKind::kInDoubt);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(holder.IsConnected()) << "the connection of an in-doubt commit is dropped";
}

TEST(RunWithRetry, DoesNotRetryDuplicatesOrPermanentErrors) {
  testing::ScopedTable table("id int PRIMARY KEY");
  ConnectionHolder holder(testing::OrdersSettings());
  int calls = 0;
  const auto insert_twice = [&](pqxx::connection& c) {
    ++calls;
    pqxx::work tx(c);
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (7)");
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (7)");
    tx.commit();
  };
  EXPECT_THROW(RunWithRetry(holder, kFast, 5, {}, insert_twice), pqxx::unique_violation);
  EXPECT_EQ(calls, 1);

  calls = 0;
  EXPECT_THROW(RunWithRetry(holder, kFast, 5, {},
                            [&](pqxx::connection& c) {
                              ++calls;
                              pqxx::work(c).exec("SELECT * FROM no_such_table_here");
                            }),
               pqxx::sql_error);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(holder.IsConnected()) << "a permanent SQL error does not cost the connection";
}

TEST(RunWithRetry, GivesUpAfterMaxAttemptsWithTheLastError) {
  ConnectionHolder holder(testing::OrdersSettings());
  int calls = 0;
  EXPECT_THROW(RunWithRetry(holder, kFast, 3, {},
                            [&](pqxx::connection&) -> void {
                              ++calls;
                              throw pqxx::deadlock_detected("deadlock detected (simulated)");
                            }),
               pqxx::deadlock_detected);
  EXPECT_EQ(calls, 3);
}

TEST(RunWithRetry, RetriesAFailedConnectAndStopsWhenAsked) {
  PgSettings settings = testing::OrdersSettings();
  settings.port = 1;  // refused
  ConnectionHolder holder(settings);
  std::stop_source stop;
  int calls = 0;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(200ms);
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(RunWithRetry(holder, runtime::BackoffPolicy{50ms, 1.0, 50ms}, 1000, stop.get_token(),
                            [&](pqxx::connection&) { ++calls; }),
               pqxx::broken_connection);
  EXPECT_EQ(calls, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(holder.IsConnected());
}

TEST(ConnectionHolder, RunsOnConnectForEveryNewConnection) {
  int hooks = 0;
  ConnectionHolder holder(testing::OrdersSettings(UniqueName("pg-holder")), [&](pqxx::connection& c) {
    ++hooks;
    c.prepare("answer", "SELECT $1::int + 1");
  });
  const auto ask = [&] {
    pqxx::work tx(holder.Get());
    const int v = tx.exec_prepared1("answer", 41)[0].as<int>();
    tx.commit();
    return v;
  };
  EXPECT_EQ(ask(), 42);
  EXPECT_EQ(ask(), 42);
  EXPECT_EQ(hooks, 1);
  holder.Invalidate();
  EXPECT_FALSE(holder.IsConnected());
  EXPECT_EQ(ask(), 42);
  EXPECT_EQ(hooks, 2);
}

}  // namespace
}  // namespace paynotify::pg

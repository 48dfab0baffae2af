// Classify() against errors produced by a real server, not constructed by hand.
#include "common/pg/errors.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "common/pg/connection.hpp"
#include "tests/integration/pg/pg_test_env.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::pg {
namespace {

using paynotify::testing::UniqueName;

// Runs `f` and returns the classification of what it threw (fails the test if nothing).
template <class F>
ErrorKind KindOfFailure(F&& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const std::exception& e) {
    if (what != nullptr) *what = Describe(e);
    return Classify(e);
  }
  ADD_FAILURE() << "expected an exception";
  return ErrorKind::kPermanent;
}

TEST(ClassifyRealErrors, UniqueViolationIsADuplicate) {
  testing::ScopedTable table("id int PRIMARY KEY");
  auto conn = Connect(testing::OrdersSettings());
  {
    pqxx::work tx(*conn);
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (1)");
    tx.commit();
  }
  std::string what;
  EXPECT_EQ(KindOfFailure(
                [&] {
                  pqxx::work tx(*conn);
                  tx.exec0("INSERT INTO " + table.Name() + " VALUES (1)");
                  tx.commit();
                },
                &what),
            ErrorKind::kDuplicate);
  EXPECT_NE(what.find("sqlstate=23505"), std::string::npos) << what;
}

TEST(ClassifyRealErrors, OtherSqlErrorsArePermanent) {
  auto conn = Connect(testing::OrdersSettings());
  EXPECT_EQ(KindOfFailure([&] { pqxx::work(*conn).exec("SELEC 1"); }), ErrorKind::kPermanent);
  EXPECT_EQ(KindOfFailure([&] { pqxx::work(*conn).exec("SELECT 1 / 0"); }), ErrorKind::kPermanent);
  EXPECT_EQ(KindOfFailure([&] { pqxx::work(*conn).exec("SELECT * FROM no_such_table_here"); }),
            ErrorKind::kPermanent);
}

TEST(ClassifyRealErrors, SerializationFailureIsTransient) {
  testing::ScopedTable table("id int PRIMARY KEY, v int NOT NULL");
  auto a = Connect(testing::OrdersSettings());
  auto b = Connect(testing::OrdersSettings());
  {
    pqxx::work tx(*a);
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (1, 0)");
    tx.commit();
  }
  pqxx::transaction<pqxx::serializable> first(*a);
  first.exec1("SELECT v FROM " + table.Name() + " WHERE id = 1");  // takes the snapshot
  {
    pqxx::transaction<pqxx::serializable> second(*b);
    second.exec0("UPDATE " + table.Name() + " SET v = 2 WHERE id = 1");
    second.commit();
  }
  std::string what;
  EXPECT_EQ(KindOfFailure(
                [&] {
                  first.exec0("UPDATE " + table.Name() + " SET v = 1 WHERE id = 1");
                  first.commit();
                },
                &what),
            ErrorKind::kTransient);
  EXPECT_NE(what.find("could not serialize"), std::string::npos) << what;
}

// order-service's intake connections run with lock_timeout: a row another session holds
// is lock_not_available (55P03), transient (503, retried), not a permanent 500.
TEST(ClassifyRealErrors, LockTimeoutIsTransient) {
  testing::ScopedTable table("id int PRIMARY KEY, v int NOT NULL");
  auto holder = Connect(testing::OrdersSettings());
  auto waiter = Connect(testing::OrdersSettings());
  {
    pqxx::work tx(*holder);
    tx.exec0("INSERT INTO " + table.Name() + " VALUES (1, 0)");
    tx.commit();
  }
  pqxx::work holding(*holder);
  holding.exec1("SELECT v FROM " + table.Name() + " WHERE id = 1 FOR UPDATE");
  pqxx::nontransaction(*waiter).exec0("SET lock_timeout = '50ms'");
  std::string what;
  EXPECT_EQ(KindOfFailure(
                [&] {
                  pqxx::work tx(*waiter);
                  tx.exec1("SELECT v FROM " + table.Name() + " WHERE id = 1 FOR UPDATE");
                },
                &what),
            ErrorKind::kTransient);
  EXPECT_NE(what.find("lock timeout"), std::string::npos) << what;
}

TEST(ClassifyRealErrors, TerminatedBackendIsTransientAndAConnectionLoss) {
  auto conn = Connect(testing::OrdersSettings());
  const int pid = conn->backendpid();
  ASSERT_NO_FATAL_FAILURE(testing::TerminateBackend(pid));
  try {
    pqxx::work tx(*conn);
    tx.exec("SELECT 1");
    tx.commit();
    FAIL() << "expected the terminated connection to fail";
  } catch (const std::exception& e) {
    EXPECT_EQ(Classify(e), ErrorKind::kTransient) << Describe(e);
    EXPECT_TRUE(IsConnectionLoss(e)) << Describe(e);
  }
  // libpqxx's silent reconnect is off: the connection stays broken until replaced.
  EXPECT_FALSE(conn->is_open());
}

TEST(ClassifyRealErrors, RefusedConnectionIsTransient) {
  PgSettings settings = testing::OrdersSettings();
  settings.port = 1;
  EXPECT_EQ(KindOfFailure([&] { Connect(settings); }), ErrorKind::kTransient);
}

// Connect() resolves a host name itself, within connect_timeout (common/runtime/resolve), and
// hands libpq the addresses: a name still reaches the server ...
TEST(ConnectByName, AHostNameIsResolvedAndConnects) {
  PgSettings settings = testing::OrdersSettings();
  ASSERT_EQ(settings.host, "127.0.0.1");
  settings.host = "localhost";
  auto conn = Connect(settings);
  ASSERT_TRUE(conn->is_open());
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT 1")[0].as<int>(), 1);
}

// ... and a name that does not resolve is a transient connection failure that says so.
TEST(ConnectByName, AnUnresolvableHostIsATransientFailureThatNamesIt) {
  PgSettings settings = testing::OrdersSettings();
  settings.host = "paynotify-test.invalid";  // RFC 6761: never resolves
  std::string what;
  EXPECT_EQ(KindOfFailure([&] { Connect(settings); }, &what), ErrorKind::kTransient);
  EXPECT_NE(what.find("resolving 'paynotify-test.invalid'"), std::string::npos) << what;
}

}  // namespace
}  // namespace paynotify::pg

// Re-applying the migrations (scripts/infra migrate) must change nothing, and the outbox must
// accept the Java platform's minimal insert.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "tests/integration/pg/pg_test_env.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::pg {
namespace {

using paynotify::testing::Infra;
using paynotify::testing::PgConnString;

// Everything migrations can change, as comparable text: the recorded versions (with their
// applied_at, which a re-run must not touch) and every public column with its type, default
// and nullability. Schema-wide, hence this test runs SERIAL.
struct SchemaSnapshot {
  std::vector<std::string> migrations;
  std::vector<std::string> columns;
  bool operator==(const SchemaSnapshot&) const = default;
};

SchemaSnapshot Snapshot(const std::string& dbname) {
  pqxx::connection conn(PgConnString(dbname));
  pqxx::nontransaction tx(conn);
  SchemaSnapshot s;
  for (const auto& row : tx.exec("SELECT t::text FROM schema_migrations t ORDER BY 1")) {
    s.migrations.push_back(row[0].c_str());
  }
  for (const auto& row : tx.exec(
           "SELECT concat_ws(' | ', table_name, column_name, data_type, character_maximum_length, "
           "column_default, is_nullable, is_identity) "
           "FROM information_schema.columns WHERE table_schema = 'public' "
           "ORDER BY table_name, ordinal_position")) {
    s.columns.push_back(row[0].c_str());
  }
  return s;
}

void ExpectSameSchema(const SchemaSnapshot& before, const SchemaSnapshot& after) {
  EXPECT_EQ(before.migrations, after.migrations);
  EXPECT_EQ(before.columns, after.columns);
}

TEST(Migrations, ApplyingThemTwiceChangesNothing) {
  const std::vector<std::string> dbs = {paynotify::testing::OrdersDb(),
                                        paynotify::testing::LearningDb()};
  std::string output;
  ASSERT_EQ(Infra("migrate", &output), 0) << output;  // whatever was pending is now applied

  std::vector<SchemaSnapshot> before;
  for (const auto& db : dbs) {
    before.push_back(Snapshot(db));
    EXPECT_FALSE(before.back().migrations.empty()) << db << ": no migration recorded";
    EXPECT_FALSE(before.back().columns.empty()) << db << ": no tables";
  }

  ASSERT_EQ(Infra("migrate", &output), 0) << output;
  for (size_t i = 0; i < dbs.size(); ++i) {
    SCOPED_TRACE(dbs[i]);
    ExpectSameSchema(before[i], Snapshot(dbs[i]));
  }
}

TEST(Migrations, TheOrdersSchemaHasTheOutboxColumnsOfTheJavaPlatform) {
  pqxx::connection conn(PgConnString(paynotify::testing::OrdersDb()));
  pqxx::nontransaction tx(conn);
  for (const std::string table : {"mq_message", "mq_message_history"}) {
    std::vector<std::string> columns;
    for (const auto& row : tx.exec_params(
             "SELECT column_name FROM information_schema.columns "
             "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
             table)) {
      columns.push_back(row[0].c_str());
    }
    for (const std::string column :
         {"id", "message_id", "message_type", "business_key1", "business_key2", "business_key3",
          "execute_num", "state", "returnfailure_date", "returnsuccess_date", "returnfailure_msg",
          "execute_date", "next_attempt_at", "created_at"}) {
      EXPECT_NE(std::find(columns.begin(), columns.end(), column), columns.end())
          << table << "." << column << " missing";
    }
  }
}

TEST(Migrations, AJavaStyleOutboxInsertIsValidAndDueAtOnce) {
  pqxx::connection conn(PgConnString(paynotify::testing::OrdersDb()));
  pqxx::work tx(conn);  // never committed: rolled back when it goes out of scope
  const pqxx::row row = tx.exec1(
      "INSERT INTO mq_message(message_type, business_key1, business_key2, business_key3) "
      "VALUES ('payresult_notify', '1', '60201', NULL) "
      "RETURNING id, message_id, state, execute_num, next_attempt_at <= now(), created_at, "
      "returnfailure_date, returnsuccess_date, execute_date, business_key3");
  EXPECT_GT(row[0].as<int64_t>(), 0);
  EXPECT_FALSE(row[1].is_null()) << "message_id defaults to a fresh uuid";
  EXPECT_EQ(row[2].as<std::string>(), "0") << "pending";
  EXPECT_EQ(row[3].as<int>(), 0);
  EXPECT_TRUE(row[4].as<bool>()) << "next_attempt_at <= now(): due at once";
  EXPECT_FALSE(row[5].is_null());
  EXPECT_TRUE(row[6].is_null());
  EXPECT_TRUE(row[7].is_null());
  EXPECT_TRUE(row[8].is_null());
  EXPECT_TRUE(row[9].is_null());

  // Two rows get distinct ids and message ids.
  const pqxx::row second = tx.exec1(
      "INSERT INTO mq_message(message_type, business_key1, business_key2) "
      "VALUES ('payresult_notify', '2', '60201') RETURNING id, message_id");
  EXPECT_NE(second[0].as<int64_t>(), row[0].as<int64_t>());
  EXPECT_NE(second[1].as<std::string>(), row[1].as<std::string>());
}

}  // namespace
}  // namespace paynotify::pg

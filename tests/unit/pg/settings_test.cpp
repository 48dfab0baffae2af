#include "common/pg/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/config/reader.hpp"

namespace paynotify::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

config::Reader::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> ErrorTexts(const config::Reader& reader) {
  std::vector<std::string> texts;
  for (const auto& e : reader.Errors()) texts.push_back(e.key_path + ": " + e.message);
  return texts;
}

TEST(PgSettings, ConnStringQuotesEveryValue) {
  PgSettings s;
  s.host = "db.internal";
  s.port = 6432;
  s.user = "app";
  s.password = "secret";
  s.dbname = "paynotify_orders";
  s.application_name = "order-service";
  EXPECT_EQ(s.ConnString(),
            "host='db.internal' port='6432' dbname='paynotify_orders' user='app' "
            "password='secret' application_name='order-service' connect_timeout='5' "
            "keepalives='1' keepalives_idle='30'");
}

TEST(PgSettings, ConnStringEscapesQuotesBackslashesAndKeepsSpaces) {
  PgSettings s;
  s.host = "/var/run/postgresql";
  s.dbname = "my db";
  s.password = R"(it's a \ p=w "x")";
  s.keepalives_idle_s = 0;
  EXPECT_EQ(s.ConnString(), R"(host='/var/run/postgresql' port='5432' dbname='my db' )"
                            R"(password='it\'s a \\ p=w "x"' connect_timeout='5')");
}

TEST(PgSettings, ConnStringLeavesOutEmptyOptionalValues) {
  PgSettings s;
  s.keepalives_idle_s = 0;
  EXPECT_EQ(s.ConnString(), "host='localhost' port='5432' connect_timeout='5'");
}

TEST(PgSettings, RedactedNeverShowsThePassword) {
  PgSettings s;
  s.user = "app";
  s.password = "hunter2";
  s.dbname = "orders";
  EXPECT_EQ(s.Redacted(), "host='localhost' port='5432' dbname='orders' user='app'");
  EXPECT_THAT(s.Redacted(), Not(HasSubstr("hunter2")));
}

TEST(ReadPgSettings, ReadsEveryKeyUnderThePrefix) {
  auto reader = config::Reader::FromString(R"(
database:
  host: 10.0.0.5
  port: 6543
  user: orders_app
  password: pw
  dbname: paynotify_orders
  application-name: relay
  connect-timeout: 1500ms
  keepalives-idle: 1m
  reconnect:
    initial-interval: 250ms
    multiplier: 3
    max-interval: 5s
)", "test.yaml", "PAYNOTIFY", Env({}));
  PgSettings s = ReadPgSettings(reader, "database");
  EXPECT_NO_THROW(reader.Finish());
  EXPECT_EQ(s.host, "10.0.0.5");
  EXPECT_EQ(s.port, 6543);
  EXPECT_EQ(s.user, "orders_app");
  EXPECT_EQ(s.password, "pw");
  EXPECT_EQ(s.dbname, "paynotify_orders");
  EXPECT_EQ(s.application_name, "relay");
  EXPECT_EQ(s.connect_timeout_s, 2);  // rounded up, never shortened
  EXPECT_EQ(s.keepalives_idle_s, 60);
  EXPECT_EQ(s.reconnect.initial, std::chrono::milliseconds(250));
  EXPECT_EQ(s.reconnect.multiplier, 3.0);
  EXPECT_EQ(s.reconnect.max, std::chrono::seconds(5));
}

TEST(ReadPgSettings, DefaultsAndOptionalPassword) {
  auto reader = config::Reader::FromString("database:\n  dbname: orders\n", "test.yaml",
                                           "PAYNOTIFY", Env({}));
  PgSettings s = ReadPgSettings(reader, "database", "order-service");
  EXPECT_NO_THROW(reader.Finish());
  EXPECT_EQ(s.host, "localhost");
  EXPECT_EQ(s.port, 5432);
  EXPECT_EQ(s.user, "");
  EXPECT_EQ(s.password, "");  // libpq then uses PGPASSWORD or ~/.pgpass
  EXPECT_EQ(s.application_name, "order-service");
  EXPECT_EQ(s.connect_timeout_s, 5);
}

TEST(ReadPgSettings, EnvironmentOverridesUseThePrefix) {
  auto reader = config::Reader::FromString("database:\n  dbname: orders\n", "test.yaml", "PAYNOTIFY",
                                           Env({{"PAYNOTIFY_DATABASE_PASSWORD", "from-env"},
                                                {"PAYNOTIFY_DATABASE_PORT", "55432"}}));
  PgSettings s = ReadPgSettings(reader, "database");
  EXPECT_NO_THROW(reader.Finish());
  EXPECT_EQ(s.password, "from-env");
  EXPECT_EQ(s.port, 55432);
}

TEST(ReadPgSettings, ReportsEveryBadValue) {
  auto reader = config::Reader::FromString(R"(
database:
  host: ""
  port: 70000
  connect-timeout: 0s
  reconnect:
    initial-interval: 2s
    max-interval: 1s
)", "test.yaml", "PAYNOTIFY", Env({}));
  ReadPgSettings(reader, "database");
  const auto errors = ErrorTexts(reader);
  EXPECT_THAT(errors, ::testing::Contains("database.host: must not be empty"));
  EXPECT_THAT(errors, ::testing::Contains(HasSubstr("database.port: ")));
  EXPECT_THAT(errors, ::testing::Contains("database.dbname: required: the database name"));
  EXPECT_THAT(errors, ::testing::Contains(
                          "database.connect-timeout: must be at least 1s (0 would wait forever)"));
  EXPECT_THAT(errors, ::testing::Contains(
                          "database.reconnect.max-interval: must not be less than "
                          "reconnect.initial-interval"));
  EXPECT_EQ(errors.size(), 5u);
  EXPECT_THROW(reader.Finish(), config::ConfigErrors);
}

}  // namespace
}  // namespace paynotify::pg

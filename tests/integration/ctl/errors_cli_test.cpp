// Exit statuses that do not depend on the outbox's content: help, bad config files (with the
// daemon reader's file:line), an unreachable database.
#include <gmock/gmock.h>

#include <fstream>

#include "tests/integration/ctl/ctl_fixture.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::ctl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ErrorsCli : public CtlIt {};

TEST_F(ErrorsCli, HelpExitsZero) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"}, {"outbox", "--help"},
                                               {"outbox", "requeue", "-h"}, {"trace", "--help"}}) {
    const CtlRun run = Ctl(args);
    EXPECT_EQ(run.status, 0) << args[0];
    EXPECT_THAT(run.out, StartsWith("usage: paynotifyctl"));
    EXPECT_THAT(run.out, HasSubstr("exit status:"));
    EXPECT_EQ(run.err, "");
  }
}

TEST_F(ErrorsCli, BadUsageExitsTwo) {
  const CtlRun run = Ctl({"outbox", "frobnicate"});
  EXPECT_EQ(run.status, 2);
  EXPECT_THAT(run.err, StartsWith("paynotifyctl: unknown verb 'frobnicate' for 'outbox'"));
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(Ctl({}).status, 2);
}

TEST_F(ErrorsCli, AMissingConfigFileExitsTwoNamingIt) {
  const std::string missing = (dir_ / "nope.yaml").string();
  const CtlRun run = Ctl({"--orders-config", missing, "--json", "outbox", "status"});
  EXPECT_EQ(run.status, 2);
  EXPECT_THAT(run.err, StartsWith("paynotifyctl: invalid configuration ("));
  EXPECT_THAT(run.err, HasSubstr(missing + ": cannot read config file"));
  EXPECT_EQ(run.out, "");
}

TEST_F(ErrorsCli, ABadValueExitsTwoWithFileLineAndKey) {
  const std::string path = (dir_ / "bad.yaml").string();
  std::ofstream(path) << "database:\n  dbname: x\n  port: lots\n  hots: y\nserver:\n  port: also-bad-but-unused\n";
  const CtlRun run = Ctl({"--orders-config", path, "outbox", "list"});
  EXPECT_EQ(run.status, 2);
  EXPECT_THAT(run.err, HasSubstr("invalid configuration (2 errors)"));
  EXPECT_THAT(run.err, HasSubstr(path + ":3:9: database.port: expected an integer"));
  EXPECT_THAT(run.err, HasSubstr(path + ":4:3: database.hots: unknown key; did you mean 'database.host'?"));
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr("server.port")));
}

TEST_F(ErrorsCli, TraceChecksTheLearningConfigToo) {
  const std::string path = (dir_ / "bad-learning.yaml").string();
  std::ofstream(path) << "database:\n  dbname: [x]\n";
  const CtlRun run = Ctl({"--learning-config", path, "trace", "--pay-no", "1"});
  EXPECT_EQ(run.status, 2);
  EXPECT_THAT(run.err, HasSubstr(path + ":2:"));
}

TEST_F(ErrorsCli, AnUnreachableDatabaseExitsOneAsUnavailable) {
  const std::string path = (dir_ / "down.yaml").string();
  // A port nothing listens on (the test cluster's port + 1 is not ours to assume: port 1).
  std::ofstream(path) << "database:\n  host: 127.0.0.1\n  port: 1\n  dbname: x\n  user: u\n  connect-timeout: 1s\n";
  CtlRun run = Ctl({"--orders-config", path, "outbox", "status"});
  EXPECT_EQ(run.status, 1);
  EXPECT_THAT(run.err, HasSubstr("cannot reach the orders database"));
  EXPECT_THAT(run.err, HasSubstr("port='1'"));
  run = Ctl({"--orders-config", path, "--json", "outbox", "status"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.Json()["error"]["kind"], "unavailable");
}

TEST_F(ErrorsCli, ARefusedLoginIsUnavailableTooAndNeverShowsThePassword) {
  // The right server, user and password (from the environment), a database that is not there.
  const std::string path = (dir_ / "refused.yaml").string();
  std::ofstream(path) << "database:\n  host: " << paynotify::testing::RequireEnv("PGHOST")
                      << "\n  port: " << paynotify::testing::RequireEnv("PGPORT")
                      << "\n  user: " << paynotify::testing::RequireEnv("PGUSER")
                      << "\n  dbname: no_such_database_ctl\n";
  const CtlRun run = Ctl({"--orders-config", path, "outbox", "status"});
  EXPECT_EQ(run.status, 1);
  EXPECT_THAT(run.err, HasSubstr("cannot reach the orders database"));
  EXPECT_THAT(run.err, HasSubstr("no_such_database_ctl"));
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr(paynotify::testing::RequireEnv("PGPASSWORD"))));
}

}  // namespace
}  // namespace paynotify::ctl::testing

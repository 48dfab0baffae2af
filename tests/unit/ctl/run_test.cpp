// Run(): what reaches stdout and stderr, and the exit status, for each way a command ends.
#include "paynotifyctl/cli/run.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/config/reader.hpp"
#include "tests/unit/ctl/test_commands.hpp"

namespace paynotify::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

Outcome RunWith(Handler handler, std::vector<std::string> words) {
  std::ostringstream out;
  std::ostringstream err;
  Outcome o;
  o.status = Run(words, testing::TestCommands(std::move(handler)), out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

Result Ok(const Invocation&) {
  Result r;
  r.json = {{"pending", 3}};
  r.text = "pending: 3\n";
  return r;
}

TEST(CtlRun, SuccessPrintsTextOrExactlyOneJsonDocument) {
  Outcome o = RunWith(Ok, {"outbox", "status"});
  EXPECT_EQ(o.status, kExitOk);
  EXPECT_EQ(o.out, "pending: 3\n");
  EXPECT_THAT(o.err, IsEmpty());

  o = RunWith(Ok, {"outbox", "status", "--json"});
  EXPECT_EQ(o.status, kExitOk);
  const auto doc = nlohmann::json::parse(o.out);  // throws if not exactly one document
  EXPECT_EQ(doc["pending"], 3);
}

TEST(CtlRun, HelpGoesToStdoutWithStatusZero) {
  const Outcome o = RunWith(Ok, {"outbox", "list", "--help"});
  EXPECT_EQ(o.status, kExitOk);
  EXPECT_THAT(o.out, StartsWith("usage: paynotifyctl"));
  EXPECT_THAT(o.err, IsEmpty());
}

TEST(CtlRun, UsageErrorsExitTwoWithUsageOnStderrAndNothingOnStdout) {
  Outcome o = RunWith(Ok, {"outbox", "list", "--limit"});
  EXPECT_EQ(o.status, kExitUsage);
  EXPECT_THAT(o.out, IsEmpty());
  EXPECT_THAT(o.err, StartsWith("paynotifyctl: --limit needs a value (N)\n"));
  EXPECT_THAT(o.err, HasSubstr("usage: paynotifyctl [GLOBAL OPTIONS] outbox list"));

  // A handler's own argument check is a usage error too.
  o = RunWith([](const Invocation&) -> Result { throw UsageError("give IDs or --all-parked"); },
              {"outbox", "requeue", "--json"});
  EXPECT_EQ(o.status, kExitUsage);
  EXPECT_THAT(o.out, IsEmpty());
  EXPECT_THAT(o.err, StartsWith("paynotifyctl: give IDs or --all-parked\n"));
}

TEST(CtlRun, ConfigErrorsExitTwoWithEveryErrorEscaped) {
  const Outcome o = RunWith(
      [](const Invocation&) -> Result {
        throw config::ConfigErrors({{"c.yaml", 3, 5, "database.port", "expected an integer, got 'x\x1b'"},
                                    {"c.yaml", 4, 3, "database.hots", "unknown key; did you mean 'database.host'?"}});
      },
      {"outbox", "status"});
  EXPECT_EQ(o.status, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("invalid configuration (2 errors)"));
  EXPECT_THAT(o.err, HasSubstr("c.yaml:3:5: database.port: expected an integer, got 'x\\x1B'"));
  EXPECT_THAT(o.err, HasSubstr("c.yaml:4:3: database.hots"));
}

TEST(CtlRun, NotFoundUnavailableAndFailuresExitOneWithAKind) {
  struct Case {
    Handler handler;
    std::string kind;
    std::string message;
  };
  const Case cases[] = {
      {[](const Invocation&) -> Result { throw NotFound("no outbox row with id 7"); }, "not_found",
       "no outbox row with id 7"},
      {[](const Invocation&) -> Result { throw Unavailable("cannot reach the orders database"); }, "unavailable",
       "cannot reach the orders database"},
      {[](const Invocation&) -> Result { throw std::runtime_error("boom\n\x1b"); }, "failed", "boom\\n\\x1B"},
  };
  for (const Case& c : cases) {
    Outcome o = RunWith(c.handler, {"outbox", "status"});
    EXPECT_EQ(o.status, kExitFailed) << c.kind;
    EXPECT_EQ(o.err, "paynotifyctl: " + c.message + "\n");
    EXPECT_THAT(o.out, IsEmpty());

    o = RunWith(c.handler, {"--json", "outbox", "status"});
    EXPECT_EQ(o.status, kExitFailed);
    const auto doc = nlohmann::json::parse(o.out);
    EXPECT_EQ(doc["error"]["kind"], c.kind);
    EXPECT_EQ(doc["error"]["message"], c.message);
  }
}

TEST(CtlRun, AResultMayReportPartialFailure) {
  const Outcome o = RunWith(
      [](const Invocation&) {
        Result r;
        r.json = {{"replayed", 2}, {"failed", 1}};
        r.text = "2 replayed, 1 failed\n";
        r.exit_status = kExitFailed;
        r.error = "1 message still failing";
        return r;
      },
      {"outbox", "status"});
  EXPECT_EQ(o.status, kExitFailed);
  EXPECT_EQ(o.out, "2 replayed, 1 failed\n");
  EXPECT_EQ(o.err, "paynotifyctl: 1 message still failing\n");
}

TEST(CtlRun, APartialFailureInJsonCarriesTheErrorKindScriptsBranchOn) {
  const auto handler = [](const Invocation&) {
    Result r;
    r.json = {{"replayed", 0}};
    r.exit_status = kExitFailed;
    r.error_kind = "not_found";
    r.error = "not in q: m-1";
    return r;
  };
  const Outcome o = RunWith(handler, {"--json", "outbox", "status"});
  EXPECT_EQ(o.status, kExitFailed);
  const auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc["replayed"], 0);
  EXPECT_EQ(doc["error"]["kind"], "not_found");
  EXPECT_EQ(doc["error"]["message"], "not in q: m-1");
}

TEST(CtlRun, TheHandlerSeesItsArgumentsAndTheGlobalOptions) {
  std::string seen;
  const Outcome o = RunWith(
      [&](const Invocation& in) {
        seen = in.global.orders_config + "|" + in.args.Positionals().at(0) + "|" + (in.global.json ? "json" : "text");
        return Result{};
      },
      {"outbox", "requeue", "42", "--orders-config", "x.yaml"});
  EXPECT_EQ(o.status, kExitOk);
  EXPECT_EQ(seen, "x.yaml|42|text");
}

}  // namespace
}  // namespace paynotify::ctl

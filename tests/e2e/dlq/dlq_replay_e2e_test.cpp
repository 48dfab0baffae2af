// The operator's dead-letter round trip, end to end (issue 11 section 5): a batch of payments
// whose course selections do not exist (yet) goes through the real pipeline (notification ->
// order-service -> outbox -> relay -> broker -> learning-service), every one is retried and
// then parked as selection-missing; the cause is fixed (the selections are created); then
// `paynotifyctl dlq replay --all`. Verdict: every payment applied exactly once (the harness's
// audit triggers and inbox counts, as in the fault scenarios), the parking queue empty, and a
// second replay finds nothing to do.
//
// PAYNOTIFY_E2E_DLQ_PAYMENTS sets the batch (default 100).
#include <gtest/gtest.h>


#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/pg/array_literal.hpp"
#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/pg_exec.hpp"
#include "tests/support/program_run.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::e2e {
namespace {

namespace fs = std::filesystem;
namespace t = paynotify::testing;
using namespace std::chrono_literals;

int Payments() {
  const char* text = std::getenv("PAYNOTIFY_E2E_DLQ_PAYMENTS");
  return text != nullptr ? std::atoi(text) : 100;
}

using CtlRun = t::ProgramRun;

// paynotifyctl with the shipped learning-service config and this system's queues and broker,
// given the way scripts/ctl gives them (environment overrides). Killed after 120 s.
CtlRun Ctl(const PaySystem& system, std::vector<std::string> args) {
  const t::AmqpTestBroker b = t::Broker();
  const std::map<std::string, std::string> env = {
      {"PAYNOTIFY_RABBITMQ_HOST", b.host},
      {"PAYNOTIFY_RABBITMQ_PORT", std::to_string(b.port)},
      {"PAYNOTIFY_RABBITMQ_USERNAME", b.user},
      {"PAYNOTIFY_RABBITMQ_PASSWORD", b.password},
      {"PAYNOTIFY_RABBITMQ_VIRTUAL_HOST", b.vhost},
      {"PAYNOTIFY_CONSUMER_EXCHANGE", system.Exchange()},
      {"PAYNOTIFY_CONSUMER_QUEUE", system.Queue()},
      {"PAYNOTIFY_CONSUMER_DEAD_LETTER_QUEUE", system.Queue() + ".dlq"},
  };
  args.insert(args.begin(), {"--learning-config", std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml"});
  return t::RunProgram(PAYNOTIFYCTL_BIN, args, {{}, env}, 120s);
}

nlohmann::json Json(const CtlRun& run) { return run.Json(); }

TEST(DlqReplayE2E, PoisonBatchParkedCauseFixedReplayAllThenEachAppliedOnce) {
  PaySystem system("dlq-replay");
  system.StartAll();
  const int n = Payments();
  const std::vector<int64_t> selections = system.CreateSelections(n);
  const std::vector<int64_t> pay_nos = system.CreateOrders(selections, 8);

  // The poison: the selections are set aside (kept in a stash table), so every payment's
  // message names a selection that does not exist.
  const std::string stash = "e2e_dlq_stash_" + std::to_string(::getpid());
  const std::string ids = pg::ArrayLiteral(selections);
  t::ExecCommitted(t::LearningDb(), "DROP TABLE IF EXISTS " + stash);
  t::ExecCommitted(t::LearningDb(),
                   "CREATE TABLE " + stash + " AS SELECT * FROM xc_choose_course WHERE id = ANY($1::bigint[])", ids);
  t::ExecCommitted(t::LearningDb(), "DELETE FROM xc_choose_course WHERE id = ANY($1::bigint[])", ids);
  struct DropStash {
    std::string table;
    ~DropStash() {
      try {
        t::ExecCommitted(t::LearningDb(), "DROP TABLE IF EXISTS " + table);
      } catch (...) {
      }
    }
  } drop_stash{stash};

  ASSERT_EQ(system.NotifyAll(pay_nos, 8, 1), n);
  // Every attempt (the harness's retry policy: 5 attempts, 200 ms .. 1 s apart) finds no
  // selection: all parked.
  ASSERT_TRUE(t::WaitFor([&] { return system.DeadLetterCount() == static_cast<uint32_t>(n); }, 120s, 250ms))
      << "parked: " << system.DeadLetterCount() << " of " << n << "\n" << system.LogTails();
  EXPECT_EQ(system.Check(selections).course_rows, 0);

  const CtlRun stats = Ctl(system, {"--json", "dlq", "stats"});
  ASSERT_EQ(stats.status, 0) << stats.err;
  EXPECT_EQ(Json(stats)["reasons"]["selection-missing"], n) << stats.out;
  const CtlRun listed = Ctl(system, {"dlq", "list", "--limit", "5"});
  EXPECT_EQ(listed.status, 0) << listed.err;
  EXPECT_NE(listed.out.find("selection-missing"), std::string::npos) << listed.out;
  EXPECT_EQ(system.DeadLetterCount(), static_cast<uint32_t>(n)) << "listing took messages";

  // The cause fixed: the selections exist again (same ids, awaiting payment).
  t::ExecCommitted(t::LearningDb(), "INSERT INTO xc_choose_course SELECT * FROM " + stash);

  const auto replay_started = std::chrono::steady_clock::now();
  const CtlRun replay = Ctl(system, {"--json", "dlq", "replay", "--all"});
  ASSERT_EQ(replay.status, 0) << replay.err << "\n" << replay.out;
  const nlohmann::json report = Json(replay);
  EXPECT_EQ(report["replayed"], n);
  EXPECT_EQ(report["failed"], 0);
  EXPECT_EQ(report["walk"]["settles_confirmed"], true);

  const Convergence c = system.WaitConverged(selections, 120s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - replay_started).count();
  EXPECT_TRUE(c.Settled()) << c.Describe() << "\n" << system.LogTails();
  EXPECT_EQ(c.expected - c.course_rows, 0) << "lost; " << c.Describe();
  ASSERT_TRUE(c.audited && c.MessagesKnown()) << c.Describe();
  EXPECT_EQ(c.produced_twice, 0) << c.Describe();
  EXPECT_EQ(c.inbox_once, c.expected) << "exactly one inbox row per payment; " << c.Describe();
  EXPECT_EQ(c.applied_twice, 0) << c.Describe();
  EXPECT_EQ(c.applied_once, c.expected) << "each selection applied exactly once; " << c.Describe();
  EXPECT_TRUE(c.Done()) << c.Describe();
  EXPECT_EQ(system.DeadLetterCount(), 0u);

  // Replaying again: nothing parked, nothing sent, nothing applied twice.
  const CtlRun again = Ctl(system, {"--json", "dlq", "replay", "--all"});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(Json(again)["replayed"], 0);
  EXPECT_EQ(system.Check(selections).applied_twice, 0);
  PrintSummary("dlq-replay", c, fmt::format("{} payments parked (selection-missing), replay --all", n), seconds,
               "dead_lettered=" + std::to_string(n));
}

}  // namespace
}  // namespace paynotify::e2e

// paynotifyctl outbox status | list | requeue against the real orders database.
#include <gmock/gmock.h>

#include <thread>

#include "tests/integration/ctl/ctl_fixture.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::ctl::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

class OutboxCli : public CtlIt {};

TEST_F(OutboxCli, StatusCountsEveryStateAsJsonAndAsText) {
  const OutboxRow first = InsertOutbox("A");  // due
  InsertOutbox("A");                          // due, held back behind the first
  InsertOutbox("B", 3, 3600);                 // backing off after 3 failures
  InsertOutbox("C", 7, 0, true, "returned: NO_ROUTE");
  InsertOutbox("D", 7, 0, true, "nacked");

  const CtlRun run = Ctl({"--json", "outbox", "status"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.err, "");
  const auto doc = run.Json();
  EXPECT_EQ(doc["pending"], 3);
  EXPECT_EQ(doc["due"], 2);
  EXPECT_EQ(doc["held_back"], 1);
  EXPECT_EQ(doc["backing_off"], 1);
  EXPECT_EQ(doc["retrying"], 1);
  EXPECT_EQ(doc["parked"], 2);
  EXPECT_EQ(doc["oldest_pending_id"], first.id);
  EXPECT_GE(doc["oldest_pending_age_seconds"].get<double>(), 0.0);
  EXPECT_EQ(doc["max_attempts"], 7) << "relay.max-attempts from the config file";

  const CtlRun text = Ctl({"outbox", "status"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("pending:         3"));
  EXPECT_THAT(text.out, HasSubstr("parked:          2"));
  EXPECT_THAT(text.out, HasSubstr("(id " + std::to_string(first.id) + ")"));
}

TEST_F(OutboxCli, StatusOfAnEmptyOutbox) {
  const auto doc = Ctl({"outbox", "status", "--json"}).Json();
  EXPECT_EQ(doc["pending"], 0);
  EXPECT_EQ(doc["parked"], 0);
  EXPECT_TRUE(doc["oldest_pending_age_seconds"].is_null());
  EXPECT_TRUE(doc["oldest_pending_id"].is_null());
}

TEST_F(OutboxCli, ListShowsEveryFieldOldestFirstAndParkedOnlyWhenAsked) {
  const OutboxRow due = InsertOutbox("41");
  const OutboxRow backing = InsertOutbox("42", 2, 600, false, "nacked");
  const OutboxRow parked = InsertOutbox("43", 7, 0, true, "returned: NO_ROUTE");

  auto doc = Ctl({"--json", "outbox", "list"}).Json();
  ASSERT_EQ(doc["rows"].size(), 3u);
  EXPECT_EQ(doc["total"], 3);
  EXPECT_EQ(doc["truncated"], false);
  const auto& rows = doc["rows"];
  EXPECT_EQ(rows[0]["id"], due.id);
  EXPECT_EQ(rows[0]["message_id"], due.message_id);
  EXPECT_EQ(rows[0]["business_key1"], "41");
  EXPECT_EQ(rows[0]["business_key2"], "60201");
  EXPECT_EQ(rows[0]["state"], "due");
  EXPECT_EQ(rows[0]["attempts"], 0);
  EXPECT_TRUE(rows[0]["last_error"].is_null());
  EXPECT_EQ(rows[1]["id"], backing.id);
  EXPECT_EQ(rows[1]["state"], "backing-off");
  EXPECT_EQ(rows[1]["attempts"], 2);
  EXPECT_EQ(rows[1]["last_error"], "nacked");
  EXPECT_FALSE(rows[1]["next_attempt_at"].is_null());
  EXPECT_EQ(rows[2]["id"], parked.id);
  EXPECT_EQ(rows[2]["state"], "parked");
  EXPECT_TRUE(rows[2]["next_attempt_at"].is_null());
  EXPECT_FALSE(rows[2]["parked_at"].is_null());
  for (const char* key : {"created_at", "last_error_at", "message_type"}) EXPECT_TRUE(rows[0].contains(key)) << key;

  doc = Ctl({"--json", "outbox", "list", "--parked"}).Json();
  ASSERT_EQ(doc["rows"].size(), 1u);
  EXPECT_EQ(doc["rows"][0]["id"], parked.id);
  EXPECT_EQ(doc["parked_only"], true);

  doc = Ctl({"--json", "outbox", "list", "--limit", "2"}).Json();
  EXPECT_EQ(doc["rows"].size(), 2u);
  EXPECT_EQ(doc["total"], 3);
  EXPECT_EQ(doc["truncated"], true);

  const CtlRun text = Ctl({"outbox", "list", "--limit=2"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("ID"));
  EXPECT_THAT(text.out, HasSubstr(due.message_id));
  EXPECT_THAT(text.out, HasSubstr("2/7"));
  EXPECT_THAT(text.out, HasSubstr("backing-off"));
  EXPECT_THAT(text.out, HasSubstr("(2 of 3 rows shown"));
  EXPECT_THAT(text.out, Not(HasSubstr(parked.message_id)));
}

TEST_F(OutboxCli, ListEscapesWhatTheDatabaseHolds) {
  InsertOutbox("k\x1b[2J\n", 7, 0, true, "broker said \x1b]0;owned\x07\nfake line");
  const CtlRun text = Ctl({"outbox", "list"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text.out, HasSubstr("k\\x1B[2J\\n"));
  EXPECT_THAT(text.out, HasSubstr("broker said \\x1B]0;owned\\x07\\nfake line"));
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 2) << text.out;

  const auto doc = Ctl({"--json", "outbox", "list"}).Json();
  EXPECT_EQ(doc["rows"][0]["last_error"], "broker said \x1b]0;owned\x07\nfake line");
}

TEST_F(OutboxCli, ListLimitIsBounded) {
  for (const char* bad : {"0", "10001", "abc"}) {
    const CtlRun run = Ctl({"outbox", "list", "--limit", bad});
    EXPECT_EQ(run.status, 2) << bad;
    EXPECT_THAT(run.err, HasSubstr("--limit: expected an integer between 1 and 10000")) << bad;
    EXPECT_EQ(run.out, "");
  }
}

TEST_F(OutboxCli, RequeueAllParkedMakesThemDueAgainWithAttemptsReset) {
  const OutboxRow a = InsertOutbox("P1", 7, 0, true, "returned: NO_ROUTE");
  const OutboxRow b = InsertOutbox("P2", 7, 0, true, "nacked");
  const OutboxRow pending = InsertOutbox("P3", 2, 600, false, "nacked");

  const CtlRun run = Ctl({"--json", "outbox", "requeue", "--all-parked"});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto doc = run.Json();
  EXPECT_EQ(doc["requeued"], 2);
  EXPECT_EQ(doc["were_parked"], 2);
  ASSERT_EQ(doc["rows"].size(), 2u);
  EXPECT_EQ(doc["rows"][0]["id"], a.id);
  EXPECT_EQ(doc["rows"][0]["was"], "parked");
  EXPECT_EQ(doc["rows"][0]["attempts_before"], 7);
  EXPECT_EQ(doc["rows"][1]["message_id"], b.message_id);

  // Due again exactly as the relay's claim reads it: unparked, attempts 0, next attempt now.
  const pqxx::result r = Orders(
      "SELECT id, parked_at IS NULL, execute_num, next_attempt_at <= now() FROM mq_message ORDER BY id");
  ASSERT_EQ(r.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(r[i][1].as<bool>());
    EXPECT_EQ(r[i][2].as<int>(), 0);
    EXPECT_TRUE(r[i][3].as<bool>());
  }
  EXPECT_EQ(r[2][2].as<int>(), 2) << "a row that was not parked is not touched by --all-parked";

  const auto status = Ctl({"--json", "outbox", "status"}).Json();
  EXPECT_EQ(status["parked"], 0);
  EXPECT_EQ(status["due"], 2);

  // By id: a backing-off row becomes due now.
  const CtlRun one = Ctl({"outbox", "requeue", std::to_string(pending.id)});
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_THAT(one.out, HasSubstr("1 row requeued (0 of them parked before)"));
  EXPECT_EQ(Orders("SELECT execute_num, next_attempt_at <= now() FROM mq_message WHERE id = " +
                   std::to_string(pending.id))[0][1].as<bool>(),
            true);
}

TEST_F(OutboxCli, RequeueAllParkedCountsEveryRowButEchoesAThousand) {
  Orders("INSERT INTO mq_message (message_type, business_key1, execute_num, parked_at) "
         "SELECT 'payresult_notify', 'bulk-' || g, 7, now() FROM generate_series(1, 1005) g");
  const CtlRun run = Ctl({"--json", "outbox", "requeue", "--all-parked"});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto doc = run.Json();
  EXPECT_EQ(doc["requeued"], 1005);
  EXPECT_EQ(doc["were_parked"], 1005);
  EXPECT_EQ(doc["rows"].size(), 1000u);
  EXPECT_EQ(doc["truncated"], true);
  EXPECT_EQ(Orders("SELECT count(*) FROM mq_message WHERE parked_at IS NULL AND execute_num = 0")[0][0].as<int>(), 1005);
}

TEST_F(OutboxCli, RequeueOfAnUnknownIdNamesItAndChangesNothing) {
  const OutboxRow parked = InsertOutbox("P1", 7, 0, true, "nacked");
  const std::string missing = std::to_string(parked.id + 1000);
  CtlRun run = Ctl({"outbox", "requeue", std::to_string(parked.id), missing});
  EXPECT_EQ(run.status, 1);
  EXPECT_THAT(run.err, HasSubstr("no outbox row with id " + missing));
  EXPECT_THAT(run.err, HasSubstr("nothing was requeued"));
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(Orders("SELECT count(*) FROM mq_message WHERE parked_at IS NOT NULL AND execute_num = 7")[0][0].as<int>(), 1);

  run = Ctl({"--json", "outbox", "requeue", missing});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.Json()["error"]["kind"], "not_found");
}

TEST_F(OutboxCli, RequeueNeedsIdsOrAllParked) {
  EXPECT_EQ(Ctl({"outbox", "requeue"}).status, 2);
  EXPECT_EQ(Ctl({"outbox", "requeue", "1", "--all-parked"}).status, 2);
  const CtlRun run = Ctl({"outbox", "requeue", "x"});
  EXPECT_EQ(run.status, 2);
  EXPECT_THAT(run.err, HasSubstr("ID: expected an integer"));
}

// The relay holds its claimed rows with FOR UPDATE until the batch is settled. A requeue of
// such a row waits for it, then acts on what the relay left: a row it rescheduled is requeued;
// a row it deleted (confirmed) is reported missing and nothing changes.
TEST_F(OutboxCli, RequeueWaitsForARowTheRelayHoldsAndActsOnWhatItLeft) {
  const OutboxRow rescheduled = InsertOutbox("R1", 7, 0, false, "nacked");
  const OutboxRow confirmed = InsertOutbox("R2", 0, 0, false);

  for (const bool relay_confirms : {false, true}) {
    const OutboxRow row = relay_confirms ? confirmed : rescheduled;
    auto relay = Connect(paynotify::testing::OrdersDb());
    pqxx::work claim(*relay);
    claim.exec_params("SELECT id FROM mq_message WHERE id = $1 FOR UPDATE", row.id);

    CtlChild child = Start({"--json", "outbox", "requeue", std::to_string(row.id)});
    // The requeue is blocked on the row lock (seen from pg_stat_activity), not finished.
    const bool waiting = paynotify::testing::WaitFor(
        [&] {
          return Orders("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'paynotifyctl' AND " +
                        std::to_string(relay->backendpid()) + " = ANY(pg_blocking_pids(pid))")[0][0]
                     .as<int>() > 0;
        },
        20s);
    ASSERT_TRUE(waiting) << "paynotifyctl never waited for the relay's lock";

    if (relay_confirms) {
      claim.exec_params("DELETE FROM mq_message WHERE id = $1", row.id);
    } else {
      claim.exec_params("UPDATE mq_message SET execute_num = execute_num + 1, returnfailure_msg = 'nacked again' "
                        "WHERE id = $1",
                        row.id);
    }
    claim.commit();

    const CtlRun run = child.Wait();
    if (relay_confirms) {
      EXPECT_EQ(run.status, 1) << run.err;
      EXPECT_EQ(run.Json()["error"]["kind"], "not_found");
      EXPECT_EQ(Orders("SELECT count(*) FROM mq_message WHERE id = " + std::to_string(row.id))[0][0].as<int>(), 0);
    } else {
      ASSERT_EQ(run.status, 0) << run.err;
      EXPECT_EQ(run.Json()["rows"][0]["attempts_before"], 8) << "the relay's update was seen, then reset";
      const pqxx::row r = Orders("SELECT execute_num, parked_at IS NULL FROM mq_message WHERE id = " +
                                 std::to_string(row.id))[0];
      EXPECT_EQ(r[0].as<int>(), 0);
      EXPECT_TRUE(r[1].as<bool>());
    }
  }
}

}  // namespace
}  // namespace paynotify::ctl::testing

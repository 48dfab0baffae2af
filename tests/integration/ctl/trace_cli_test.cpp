// paynotifyctl trace against the real orders and learning databases: an applied payment, one
// still in the outbox (due, parked), one not paid, by each kind of id.
#include <gmock/gmock.h>

#include "tests/integration/ctl/ctl_fixture.hpp"

namespace paynotify::ctl::testing {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TraceCli : public CtlIt {};

TEST_F(TraceCli, AnAppliedPaymentByEachKindOfId) {
  const int64_t selection = InsertSelection("learner-a", 7, false);
  const std::string key = std::to_string(selection);
  const int64_t pay_no = InsertPayment(key, "learner-a", true);
  const OutboxRow message = InsertHistory(key);  // published, kept (relay.keep-history on)
  Apply(selection, message.message_id);

  for (const std::vector<std::string>& by : {std::vector<std::string>{"--pay-no", std::to_string(pay_no)},
                                             std::vector<std::string>{"--selection", key},
                                             std::vector<std::string>{"--message-id", message.message_id}}) {
    std::vector<std::string> args{"--json", "trace"};
    args.insert(args.end(), by.begin(), by.end());
    const CtlRun run = Ctl(args);
    ASSERT_EQ(run.status, 0) << by[0] << ": " << run.err;
    const auto doc = run.Json();
    EXPECT_EQ(doc["verdict"]["code"], "applied") << by[0] << ": " << doc["verdict"]["text"];
    EXPECT_EQ(doc["payment"]["pay_no"], pay_no);
    EXPECT_EQ(doc["payment"]["status"], "601002");
    EXPECT_EQ(doc["order"]["status"], "600002");
    EXPECT_EQ(doc["order"]["out_business_id"], key);
    EXPECT_EQ(doc["message_id"], message.message_id);
    EXPECT_EQ(doc["followed_message"]["table"], "mq_message_history");
    EXPECT_EQ(doc["followed_message"]["state"], "published");
    EXPECT_EQ(doc["inbox"]["message_key"], message.message_id);
    EXPECT_FALSE(doc["inbox"]["applied_at"].is_null());
    EXPECT_EQ(doc["selection"]["id"], selection);
    EXPECT_EQ(doc["selection"]["status"], "701001");
    EXPECT_EQ(doc["course_table"]["choose_course_id"], selection);
  }

  const CtlRun text = Ctl({"trace", "--pay-no", std::to_string(pay_no)});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("trace:"));
  EXPECT_THAT(text.out, HasSubstr("inbox:         applied at "));
  EXPECT_THAT(text.out, HasSubstr("selected (701001)"));
  EXPECT_THAT(text.out, HasSubstr("\nverdict: applied: learner learner-a's payment " + std::to_string(pay_no)));
  EXPECT_THAT(text.out, EndsWith("\n"));
}

TEST_F(TraceCli, AnAppliedPaymentWhoseOutboxRowWasDeleted) {
  const int64_t selection = InsertSelection("learner-b", 8, false);
  const int64_t pay_no = InsertPayment(std::to_string(selection), "learner-b", true);
  Apply(selection, "6f1c0000-0000-4000-8000-00000000abcd");  // keep-history off: no row names it
  const auto doc = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)}).Json();
  EXPECT_EQ(doc["verdict"]["code"], "applied");
  EXPECT_TRUE(doc["inbox"].is_null());
  EXPECT_TRUE(doc["messages"].empty());
}

TEST_F(TraceCli, APaymentStillInTheOutbox) {
  const int64_t selection = InsertSelection("learner-c", 9, false);
  const std::string key = std::to_string(selection);
  const int64_t pay_no = InsertPayment(key, "learner-c", true);
  const OutboxRow row = InsertOutbox(key, 2, 600, false, "nacked");

  CtlRun run = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)});
  ASSERT_EQ(run.status, 0) << run.err;
  auto doc = run.Json();
  EXPECT_EQ(doc["verdict"]["code"], "waiting_in_outbox");
  EXPECT_EQ(doc["followed_message"]["id"], row.id);
  EXPECT_EQ(doc["followed_message"]["table"], "mq_message");
  EXPECT_EQ(doc["followed_message"]["state"], "backing-off");
  EXPECT_EQ(doc["followed_message"]["attempts"], 2);
  EXPECT_EQ(doc["followed_message"]["last_error"], "nacked");
  EXPECT_TRUE(doc["inbox"].is_null());
  EXPECT_EQ(doc["selection"]["status"], "701002");

  Orders("UPDATE mq_message SET parked_at = now(), execute_num = 7 WHERE id = " + std::to_string(row.id));
  run = Ctl({"trace", "--message-id", row.message_id});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("PARKED since"));
  EXPECT_THAT(run.out, HasSubstr("\nverdict: parked: "));
  EXPECT_THAT(run.out, HasSubstr("paynotifyctl outbox requeue " + std::to_string(row.id)));

  // The Java form of the key (messageType:id) finds the same row.
  doc = Ctl({"--json", "trace", "--message-id", "payresult_notify:" + std::to_string(row.id)}).Json();
  EXPECT_EQ(doc["verdict"]["code"], "parked");
}

TEST_F(TraceCli, AnUnpaidPayment) {
  const int64_t selection = InsertSelection("learner-d", 10, false);
  const int64_t pay_no = InsertPayment(std::to_string(selection), "learner-d", false);
  const auto doc = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)}).Json();
  EXPECT_EQ(doc["verdict"]["code"], "not_paid");
  EXPECT_EQ(doc["payment"]["status_name"], "unpaid");
}

TEST_F(TraceCli, UnknownIdsExitOne) {
  CtlRun run = Ctl({"trace", "--pay-no", "999999999999999"});
  EXPECT_EQ(run.status, 1);
  EXPECT_THAT(run.err, HasSubstr("no pay record with pay_no 999999999999999"));
  run = Ctl({"--json", "trace", "--message-id", "00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.Json()["error"]["kind"], "not_found");
  run = Ctl({"trace", "--selection", "no-such-selection"});
  EXPECT_EQ(run.status, 1);
  EXPECT_THAT(run.err, HasSubstr("nothing found for selection no-such-selection"));
}

TEST_F(TraceCli, UsageErrorsExitTwo) {
  EXPECT_EQ(Ctl({"trace"}).status, 2);
  EXPECT_EQ(Ctl({"trace", "--pay-no", "1", "--selection", "2"}).status, 2);
  EXPECT_EQ(Ctl({"trace", "--pay-no", "x"}).status, 2);
  EXPECT_EQ(Ctl({"trace", "--selection", std::string(65, '1')}).status, 2);
}

}  // namespace
}  // namespace paynotify::ctl::testing

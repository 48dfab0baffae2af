// The trace's verdict for each place a payment can be, and its two renderings.
#include "paynotifyctl/trace/trace_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/text/utf8.hpp"
#include "paynotifyctl/cli/output.hpp"

namespace paynotify::ctl {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

TracePayment Paid() {
  TracePayment p;
  p.pay_no = 1000000000007;
  p.status = "601002";
  p.paid_at = "2026-11-30T10:00:00Z";
  p.trade_no = "T-7";
  p.user_id = "learner-x";
  p.total_price = "12.30";
  p.created_at = "2026-11-30T09:59:00Z";
  p.order_id = 17;
  p.order_status = "600002";
  p.order_type = "60201";
  p.out_business_id = "42";
  return p;
}

TraceMessage Row(bool history) {
  TraceMessage m;
  m.history = history;
  m.id = 55;
  m.message_id = "6f1c0000-0000-4000-8000-000000000055";
  m.message_type = "payresult_notify";
  m.business_key1 = "42";
  m.business_key2 = "60201";
  m.created_at = "2026-11-30T10:00:00Z";
  m.next_attempt_at = "2026-11-30T10:00:00Z";
  if (history) m.published_at = "2026-11-30T10:00:01Z";
  return m;
}

TraceSelection Selection(const std::string& status) {
  return TraceSelection{42, status, "learner-x", 7, "Java", "700002", std::nullopt, std::nullopt};
}

// A paid payment whose message is `message` (the followed one), nothing in learning yet.
TraceData Base(std::optional<TraceMessage> message) {
  TraceData d;
  d.query = "pay-no 1000000000007";
  d.payment = Paid();
  d.selection_key = "42";
  if (message) {
    d.messages.push_back(*message);
    d.followed = 0;
    d.message_id = message->message_id;
  }
  d.selection = Selection("701002");
  d.dead_letter.checked = true;
  d.dead_letter.queue = "learning.paynotify.dlq";
  return d;
}

TEST(CtlTraceVerdict, AppliedWhenTheInboxHasTheMessage) {
  TraceData d = Base(Row(true));
  d.inbox = TraceInbox{d.messages[0].message_id, "2026-11-30T10:00:02Z"};
  d.selection = Selection("701001");
  d.course_table = TraceCourseTable{9, 42, "2026-11-30T10:00:02Z", std::nullopt, std::nullopt};
  const TraceVerdict v = Decide(d);
  EXPECT_EQ(v.code, "applied");
  EXPECT_THAT(v.text, HasSubstr("learner learner-x's payment 1000000000007 (selection 42) was applied at 2026-11-30T10:00:02Z"));
}

TEST(CtlTraceVerdict, AppliedFromTheLearningTablesWhenTheOutboxRowIsGone) {
  TraceData d = Base(std::nullopt);  // relay.keep-history false: the row was deleted
  d.selection = Selection("701001");
  d.course_table = TraceCourseTable{9, 42, "2026-11-30T10:00:02Z", std::nullopt, std::nullopt};
  EXPECT_EQ(Decide(d).code, "applied");
}

TEST(CtlTraceVerdict, WaitingInTheOutboxOrParked) {
  TraceData d = Base(Row(false));
  TraceVerdict v = Decide(d);
  EXPECT_EQ(v.code, "waiting_in_outbox");
  EXPECT_THAT(v.text, HasSubstr("row 55, due now"));

  d.messages[0].next_attempt_in_seconds = 30;
  d.messages[0].attempts = 2;
  v = Decide(d);
  EXPECT_EQ(v.code, "waiting_in_outbox");
  EXPECT_THAT(v.text, HasSubstr("next attempt in 30s, 2 failed publishes"));

  d.messages[0].parked_at = "2026-11-30T10:14:00Z";
  d.messages[0].attempts = 20;
  d.messages[0].last_error = "returned: NO_ROUTE";
  v = Decide(d);
  EXPECT_EQ(v.code, "parked");
  EXPECT_THAT(v.text, HasSubstr("paynotifyctl outbox requeue 55"));
  EXPECT_THAT(v.text, HasSubstr("returned: NO_ROUTE"));
}

TEST(CtlTraceVerdict, NotPaid) {
  TraceData d = Base(std::nullopt);
  d.payment->status = "601001";
  d.payment->paid_at.reset();
  const TraceVerdict v = Decide(d);
  EXPECT_EQ(v.code, "not_paid");
  EXPECT_THAT(v.text, HasSubstr("unpaid (601001)"));
}

TEST(CtlTraceVerdict, InTheDeadLetterQueue) {
  TraceData d = Base(Row(true));
  d.dead_letter.found = true;
  d.dead_letter.copies = 1;
  d.dead_letter.message_id = d.messages[0].message_id;
  d.dead_letter.reason = "selection-missing";
  const TraceVerdict v = Decide(d);
  EXPECT_EQ(v.code, "in_dead_letter_queue");
  EXPECT_THAT(v.text, HasSubstr("reason selection-missing"));
  EXPECT_THAT(v.text, HasSubstr("paynotifyctl dlq replay 6f1c0000-0000-4000-8000-000000000055"));
}

TEST(CtlTraceVerdict, InFlightWhenPublishedButNotApplied) {
  TraceData d = Base(Row(true));
  TraceVerdict v = Decide(d);
  EXPECT_EQ(v.code, "in_flight");
  EXPECT_THAT(v.text, HasSubstr("not in the dead-letter queue"));

  d.dead_letter = TraceDeadLetter{};
  d.dead_letter.not_checked_reason = "broker down";
  d.selection.reset();
  v = Decide(d);
  EXPECT_EQ(v.code, "in_flight");
  EXPECT_THAT(v.text, HasSubstr("was not checked (broker down)"));
  EXPECT_THAT(v.text, HasSubstr("selection 42 does not exist"));
}

TEST(CtlTraceVerdict, NotACourseOrder) {
  TraceData d = Base(Row(true));
  d.payment->order_type = "60202";
  EXPECT_EQ(Decide(d).code, "not_applicable");
}

TEST(CtlTraceVerdict, UnknownWithNothingToGoOn) {
  TraceData d;
  d.query = "message-id x";
  d.message_id = "x";
  EXPECT_EQ(Decide(d).code, "unknown");
}

TEST(CtlTraceJson, EveryPartHasItsKey) {
  TraceData d = Base(Row(false));
  const TraceVerdict v = Decide(d);
  const nlohmann::json doc = TraceJson(d, v);
  for (const char* key : {"query", "payment", "order", "messages", "followed_message", "message_id", "selection_id",
                          "inbox", "selection", "course_table", "dead_letter", "verdict", "keep_history"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc["payment"]["pay_no"], 1000000000007);
  EXPECT_EQ(doc["payment"]["status_name"], "paid");
  EXPECT_EQ(doc["order"]["out_business_id"], "42");
  EXPECT_EQ(doc["messages"][0]["table"], "mq_message");
  EXPECT_EQ(doc["messages"][0]["state"], "due");
  EXPECT_EQ(doc["followed_message"]["message_id"], "6f1c0000-0000-4000-8000-000000000055");
  EXPECT_TRUE(doc["inbox"].is_null());
  EXPECT_TRUE(doc["course_table"].is_null());
  EXPECT_EQ(doc["selection"]["status_name"], "awaiting payment");
  EXPECT_EQ(doc["dead_letter"]["checked"], true);
  EXPECT_EQ(doc["verdict"]["code"], "waiting_in_outbox");
  EXPECT_NO_THROW((void)DumpJson(doc));
}

TEST(CtlTraceText, OneScreenEndingInTheVerdictWithHostileValuesEscaped) {
  TraceData d = Base(Row(false));
  d.selection->course_name = "Java\n\x1b[2Jverdict: applied\xff";
  d.payment->user_id = "u\r1";
  const TraceVerdict v = Decide(d);
  const std::string out = TraceText(d, v);
  EXPECT_THAT(out, EndsWith("\n"));
  EXPECT_THAT(out, HasSubstr("\nverdict: waiting_in_outbox: "));
  EXPECT_THAT(out, HasSubstr("Java\\n\\x1B[2Jverdict: applied\\xFF"));
  EXPECT_THAT(out, HasSubstr("u\\r1"));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
  EXPECT_TRUE(text::IsValidUtf8(out));
  // One line per part: a hostile value cannot add one (8 parts, a blank line, the verdict).
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 10);
  for (const char* part : {"pay record:", "order:", "outbox:", "inbox:", "selection:", "course table:", "dead-letter:"}) {
    EXPECT_THAT(out, HasSubstr(part));
  }
}

TEST(CtlTraceText, SaysWhyTheOutboxIsEmpty) {
  TraceData d = Base(std::nullopt);
  EXPECT_THAT(TraceText(d, Decide(d)), HasSubstr("relay.keep-history is false"));
  d.keep_history = true;
  EXPECT_THAT(TraceText(d, Decide(d)), HasSubstr("none in mq_message or mq_message_history"));
}

}  // namespace
}  // namespace paynotify::ctl

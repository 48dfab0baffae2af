// dlq replay and listing with learning-service's real consumer (in-process, as the learning
// integration tests run it) and its database: a payment parked because its selection did not
// exist yet is applied exactly once when replayed after the selection was created; replaying
// an applied message again is absorbed by the inbox; listing while the consumer parks new
// messages never loses or reorders them.
#include <gtest/gtest.h>

#include <set>

#include "paynotifyctl/dlq/dlq_operations.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

using ctl::dlq::ActionReport;
using ctl::dlq::DlqTarget;
using ctl::dlq::Selection;

class DlqWithLearningTest : public LearningIntegrationTest {
 protected:
  DlqTarget Target() const {
    DlqTarget t;
    t.broker = settings_.broker;
    t.queue = settings_.topology.queue;
    t.dead_letter_queue = settings_.topology.dead_letter_queue;
    t.browse.timeout = 20s;
    t.browse.quiet = 300ms;
    t.confirm_timeout = settings_.confirm_timeout;
    return t;
  }

  /// An id the next selection of the table will never take: the selection does not exist yet.
  int64_t ReserveSelectionId() {
    return ExecCommitted1(LearningDb(), "SELECT nextval(pg_get_serial_sequence('xc_choose_course', 'id'))")[0]
        .as<int64_t>();
  }

  void InsertSelectionWithId(int64_t id) {
    ExecCommitted(LearningDb(),
                  "INSERT INTO xc_choose_course (id, course_id, course_name, user_id, company_id, order_type, "
                  "course_price, valid_days, status) VALUES ($1, 77, 'Replayed course', $2, 1232141425, '700002', "
                  "99.00, 365, '701002')",
                  id, user_);
  }

  std::vector<std::string> Listed() {
    std::vector<std::string> ids;
    for (const auto& s : ctl::dlq::List(Target(), std::nullopt, 100000).messages) {
      ids.push_back(s.message_id.value_or("?"));
    }
    return ids;
  }
};

TEST_F(DlqWithLearningTest, APaymentParkedBeforeItsSelectionExistedIsAppliedOnceWhenReplayed) {
  StartService();
  const int64_t selection = ReserveSelectionId();
  const amqp::OutgoingMessage payment = PaymentMessage(selection);
  Publish(payment);
  // Every attempt finds no selection: parked with reason selection-missing.
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 20s));
  const auto listed = ctl::dlq::List(Target(), std::nullopt, 10);
  ASSERT_EQ(listed.messages.size(), 1u);
  EXPECT_EQ(listed.messages[0].reason, "selection-missing");
  EXPECT_EQ(listed.messages[0].business_key1, std::to_string(selection));
  EXPECT_EQ(ProcessedRows(payment.message_id), 0);

  InsertSelectionWithId(selection);  // the cause fixed
  const ActionReport replay = ctl::dlq::Replay(Target(), Selection{.message_ids = {payment.message_id}}, false);
  EXPECT_EQ(replay.done, 1u);
  EXPECT_TRUE(replay.not_found.empty());
  ASSERT_TRUE(WaitFor([&] { return CourseTableRows(selection) == 1; }, 10s));
  EXPECT_EQ(SelectionStatus(selection), "701001");
  EXPECT_EQ(ProcessedRows(payment.message_id), 1);
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 0u);

  // Replaying it again: it is no longer parked (not found), nothing changes.
  const ActionReport again = ctl::dlq::Replay(Target(), Selection{.message_ids = {payment.message_id}}, false);
  EXPECT_EQ(again.done, 0u);
  EXPECT_EQ(again.not_found, std::vector<std::string>{payment.message_id});
  EXPECT_EQ(CourseTableRows(selection), 1);
}

TEST_F(DlqWithLearningTest, ReplayingAnAppliedMessageTwiceIsAbsorbedByTheInbox) {
  StartService();
  const int64_t selection = ReserveSelectionId();
  const amqp::OutgoingMessage payment = PaymentMessage(selection);
  Publish(payment);
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 20s));
  InsertSelectionWithId(selection);
  // Two parked copies of the same message (as after an ack lost with its connection): both are
  // replayed, the consumer applies the first and finds the second a duplicate.
  {
    amqp::Consumer dlq(settings_.broker, settings_.topology.dead_letter_queue, 1);
    const auto parked = dlq.Next(5s);
    ASSERT_TRUE(parked);
    amqp::OutgoingMessage copy;
    copy.routing_key = settings_.topology.dead_letter_queue;
    copy.body = parked->body;
    copy.message_id = *parked->message_id;
    copy.headers = parked->headers;
    Publish(copy);
    dlq.Close();  // the original goes back
  }
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 2; }, 5s));
  const ActionReport replay = ctl::dlq::Replay(Target(), Selection{.all = true}, false);
  EXPECT_EQ(replay.done, 2u);
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 10s));
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.queue) == 0; }, 10s));
  EXPECT_TRUE(WaitFor([&] { return Counter("paynotify_learning_duplicates_total") >= 1; }, 5s))
      << "the second copy should be seen as a duplicate";
  EXPECT_EQ(CourseTableRows(selection), 1);
  EXPECT_EQ(ProcessedRows(payment.message_id), 1);
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 0u);
}

TEST_F(DlqWithLearningTest, ListingWhileTheConsumerParksMessagesLosesAndReordersNothing) {
  StartService();
  std::vector<std::string> published;
  std::vector<std::vector<std::string>> listings;
  for (int i = 0; i < 40; ++i) {
    amqp::OutgoingMessage poison;
    poison.exchange = settings_.topology.exchange;
    poison.message_id = UniqueName("poison");
    poison.body = "not json " + std::to_string(i);
    Publish(poison);
    published.push_back(poison.message_id);
    if (i % 8 == 7) listings.push_back(Listed());  // while the consumer parks the rest
  }
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == published.size(); }, 20s));
  const std::vector<std::string> final_listing = Listed();
  EXPECT_EQ(std::set<std::string>(final_listing.begin(), final_listing.end()),
            std::set<std::string>(published.begin(), published.end()));
  EXPECT_EQ(final_listing.size(), published.size());
  // Each listing taken meanwhile was the start of the final order: nothing it saw moved.
  for (const auto& listing : listings) {
    ASSERT_LE(listing.size(), final_listing.size());
    EXPECT_EQ(listing, std::vector<std::string>(final_listing.begin(), final_listing.begin() + listing.size()));
  }
  // The consumer kept going through the listings: all parked, none stuck unacked.
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);
}

}  // namespace
}  // namespace paynotify::learning::testing

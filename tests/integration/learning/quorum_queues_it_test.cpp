// consumer.queue-type: quorum on the real (single-node) RabbitMQ 3.10: quorum queues need no
// cluster, so what the cluster mode declares is proved here. A retry goes through a quorum
// retry queue (message TTL + at-least-once dead-lettering back to the main queue) and is
// applied; a message past max attempts is parked; a delivery that is never acked (its
// consumer's connection closed each time) is dead-lettered by the main queue's delivery limit
// into the parking queue, where paynotifyctl dlq lists it with the broker's reason and
// replays it; an existing classic queue is a TopologyMismatch naming x-queue-type.
#include <gtest/gtest.h>

#include <random>

#include "common/amqp/errors.hpp"
#include "common/consumer/amqp_adapters.hpp"
#include "paynotifyctl/dlq/dead_letter.hpp"
#include "paynotifyctl/dlq/dlq_operations.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

class QuorumQueuesTest : public LearningIntegrationTest {
 protected:
  void SetUp() override {
    LearningIntegrationTest::SetUp();
    settings_.topology.queue_type = "quorum";
  }

  ctl::dlq::DlqTarget Target() const {
    ctl::dlq::DlqTarget t;
    t.broker = settings_.broker;
    t.queue = settings_.topology.queue;
    t.dead_letter_queue = settings_.topology.dead_letter_queue;
    t.browse.timeout = 20s;
    t.browse.quiet = 300ms;
    t.browse.quorum_queue = true;
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
                  "course_price, valid_days, status) VALUES ($1, 78, 'Quorum course', $2, 1232141425, '700002', "
                  "99.00, 365, '701002')",
                  id, user_);
  }
};

// The retry queue's TTL expiry dead-letters the message back to the main queue at-least-once;
// the second attempt finds the selection and applies it.
TEST_F(QuorumQueuesTest, ARetryThroughAQuorumRetryQueueComesBackAndIsApplied) {
  settings_.topology.retry.backoff = {1500ms, 2.0, 3000ms};  // time to create the selection in between
  StartService();
  const int64_t selection = ReserveSelectionId();
  Publish(PaymentMessage(selection));
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_retried_total", {{"attempt", "2"}}) == 1; }, 10s));
  InsertSelectionWithId(selection);
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 15s));
  EXPECT_EQ(SelectionStatus(selection), "701001");
  EXPECT_EQ(CourseTableRows(selection), 1);
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "3"}}), 0);
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 0u);
  EXPECT_EQ(Ready(settings_.topology.RetryQueue(1)), 0u);
}

TEST_F(QuorumQueuesTest, AMessagePastMaxAttemptsIsParkedWithItsReason) {
  StartService();
  const int64_t missing = 9'200'000'000'000'000'000 + static_cast<int64_t>(std::random_device{}() % 1000000);
  const amqp::OutgoingMessage payment = PaymentMessage(missing);
  Publish(payment);
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 20s));
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "2"}}), 1);
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "3"}}), 1);
  service_->Stop();
  const ctl::dlq::ListReport listed = ctl::dlq::List(Target(), std::nullopt, 10);
  ASSERT_EQ(listed.messages.size(), 1u);
  EXPECT_EQ(listed.messages[0].message_id, payment.message_id);
  EXPECT_EQ(listed.messages[0].reason, "selection-missing");
  EXPECT_EQ(listed.messages[0].attempts, 3);
}

// A message whose consumer dies before acking it, every time: the main queue's x-delivery-limit
// ends that, the broker moves it to the parking queue (at-least-once), and paynotifyctl dlq
// lists it with the broker's reason and replays it to a working consumer.
TEST_F(QuorumQueuesTest, ADeliveryNeverAckedIsParkedByTheDeliveryLimitAndReplays) {
  settings_.topology.delivery_limit = 2;
  consumer::DeclareConsumerTopology(settings_.broker, settings_.topology);
  const int64_t selection = InsertSelection();
  const amqp::OutgoingMessage payment = PaymentMessage(selection);
  Publish(payment);

  // A "crashing" consumer: takes the delivery, then its connection closes without an ack.
  int deliveries = 0;
  for (int i = 0; i < 10; ++i) {
    amqp::Consumer crashing(settings_.broker, settings_.topology.queue, 1);
    auto delivery = crashing.Next(2s);
    if (!delivery) break;
    EXPECT_EQ(delivery->message_id, payment.message_id);
    ++deliveries;
    crashing.Close();  // unacked: returned to the queue, one more delivery counted
  }
  // Delivered limit + 1 times: the return after the (limit+1)-th delivery exceeds the limit.
  EXPECT_EQ(deliveries, settings_.topology.delivery_limit + 1);
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 10s));
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);

  const ctl::dlq::ListReport listed = ctl::dlq::List(Target(), std::nullopt, 10);
  ASSERT_EQ(listed.messages.size(), 1u);
  EXPECT_EQ(listed.messages[0].message_id, payment.message_id);
  EXPECT_EQ(listed.messages[0].reason, "delivery_limit");  // from the broker's x-death
  EXPECT_FALSE(listed.messages[0].attempts.has_value());   // our consumer never saw it fail
  const ctl::dlq::ListReport by_reason = ctl::dlq::List(Target(), std::string("delivery_limit"), 10);
  EXPECT_EQ(by_reason.messages.size(), 1u);

  // Fixed (here: a consumer that acks), the replay applies it once.
  StartService();
  const ctl::dlq::ActionReport replay =
      ctl::dlq::Replay(Target(), ctl::dlq::Selection{.reason = std::string("delivery_limit")}, false);
  EXPECT_EQ(replay.done, 1u);
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 15s));
  EXPECT_EQ(CourseTableRows(selection), 1);
  EXPECT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 0; }, 10s));
}

TEST_F(QuorumQueuesTest, AnExistingClassicQueueIsATopologyMismatchNamingTheQueueType) {
  amqp::DeclareExchange(*admin_, amqp::ExchangeSpec{.name = settings_.topology.exchange});
  amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = settings_.topology.queue});  // classic
  try {
    consumer::DeclareConsumerTopology(settings_.broker, settings_.topology, "consumer.queue-type");
    FAIL() << "declared a quorum queue over a classic one";
  } catch (const amqp::TopologyMismatch& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.argument, "x-queue-type") << what;
    EXPECT_NE(what.find(settings_.topology.queue), std::string::npos) << what;
    EXPECT_NE(what.find("consumer.queue-type"), std::string::npos) << what;
  }
}

// Another delivery limit than the queue was declared with is noticed, not silently kept.
TEST_F(QuorumQueuesTest, AnotherDeliveryLimitIsATopologyMismatchNamingIt) {
  consumer::DeclareConsumerTopology(settings_.broker, settings_.topology);
  settings_.topology.delivery_limit += 1;
  try {
    consumer::DeclareConsumerTopology(settings_.broker, settings_.topology);
    FAIL() << "a different x-delivery-limit was accepted";
  } catch (const amqp::TopologyMismatch& e) {
    EXPECT_EQ(e.argument, "x-delivery-limit") << e.what();
  }
  settings_.topology.delivery_limit -= 1;  // so TearDown deletes the same queues
}

}  // namespace
}  // namespace paynotify::learning::testing

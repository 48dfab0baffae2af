// At-least-once dead-lettering is really in force on RabbitMQ 3.10 (which silently falls back
// to at-most-once when one of its requirements is missing: x-overflow reject-publish, a
// dead-letter exchange, the stream_queue feature flag). With the parking queue gone, a
// message past the delivery limit is not dropped (at-most-once would drop it) but held by the
// main queue and delivered once the parking queue exists again. Slow on purpose: the broker's
// dead-letter worker retries unroutable messages every 3 minutes
// (dead_letter_worker_publisher_confirm_timeout, 180 s by default; measured 178 s), which is
// why this is an executable of its own.
#include <gtest/gtest.h>

#include "common/consumer/amqp_adapters.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

TEST_F(LearningIntegrationTest, QuorumAtLeastOnceHoldsAParkedMessageWhileTheParkingQueueIsMissing) {
  settings_.topology.queue_type = "quorum";
  settings_.topology.delivery_limit = 1;
  consumer::DeclareConsumerTopology(settings_.broker, settings_.topology);
  amqp::DeleteQueue(*admin_, settings_.topology.dead_letter_queue);
  const amqp::OutgoingMessage payment = PaymentMessage(InsertSelection());
  Publish(payment);
  int deliveries = 0;
  for (int i = 0; i < 5; ++i) {
    amqp::Consumer crashing(settings_.broker, settings_.topology.queue, 1);
    if (!crashing.Next(2s)) break;
    ++deliveries;
    crashing.Close();  // unacked
  }
  ASSERT_EQ(deliveries, 2);  // limit 1: dead-lettered after the second delivery came back
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);  // held for dead-lettering, not redelivered

  amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = settings_.topology.dead_letter_queue, .queue_type = "quorum"});
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 240s))
      << "the message dead-lettered while its target was missing never arrived: dead-lettering was at-most-once";
  amqp::Consumer parking(settings_.broker, settings_.topology.dead_letter_queue, 1);
  auto parked = parking.Next(5s);
  ASSERT_TRUE(parked.has_value());
  EXPECT_EQ(parked->message_id, payment.message_id);
  EXPECT_EQ(parked->body, payment.body);
  parking.Ack(parked->delivery_tag);
  parking.Close();
}

}  // namespace
}  // namespace paynotify::learning::testing

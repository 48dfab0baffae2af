// Consumer against the real broker: ack, nack/requeue, reject to a dead-letter queue,
// timeouts, heartbeats on an idle connection, stale tags after a reconnect, cancellation.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "tests/integration/amqp/amqp_test_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::amqp {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::WaitFor;
using testing::Cleanup;
using testing::FullMessage;
using testing::TestSettings;

// Publishes straight to the queue through the default exchange.
void PublishToQueue(const std::string& queue, const std::string& body,
                    const std::string& message_id = "") {
  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"));
  OutgoingMessage message = FullMessage("", body);
  message.routing_key = queue;
  if (!message_id.empty()) message.message_id = message_id;
  ASSERT_EQ(publisher.PublishBatch({&message, 1}, 10s),
            std::vector<PublishOutcome>{PublishOutcome::kConfirmed});
}

// Ready + unacked messages, seen from a separate connection once `consumer` is closed.
uint32_t Remaining(Connection& admin, const std::string& queue) {
  return MessageCount(admin, queue);
}

TEST(AmqpConsumer, AckRemovesTheMessage) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("ack");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  PublishToQueue(queue, "hello");

  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 5);
  const auto delivery = consumer.Next(10s);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->body, "hello");
  EXPECT_EQ(delivery->routing_key, queue);
  consumer.Ack(delivery->delivery_tag);
  consumer.Close();  // an unacked message would go back to the queue here
  EXPECT_TRUE(WaitFor([&] { return Remaining(*admin, queue) == 0; }, 5s));
  EXPECT_EQ(MessageCount(*admin, queue), 0u);
}

TEST(AmqpConsumer, NackWithRequeueIsRedelivered) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("nack");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  PublishToQueue(queue, "again", "nack-me");

  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 1);
  const auto first = consumer.Next(10s);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->redelivered);
  consumer.Nack(first->delivery_tag, /*requeue=*/true);

  const auto second = consumer.Next(10s);
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->redelivered);
  EXPECT_EQ(second->message_id, "nack-me");
  EXPECT_EQ(second->body, "again");
  consumer.Ack(second->delivery_tag);
  EXPECT_FALSE(consumer.Next(200ms));
}

TEST(AmqpConsumer, NackWithoutRequeueDeadLetters) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string dlx = cleanup.Exchange("dlx");
  const std::string dlq = cleanup.Queue("dlq");
  const std::string queue = cleanup.Queue("work");
  DeclareExchange(*admin, ExchangeSpec{.name = dlx});
  DeclareQueue(*admin, QueueSpec{.name = dlq});
  BindQueue(*admin, dlq, dlx);
  DeclareQueue(*admin, QueueSpec{.name = queue, .dead_letter_exchange = dlx});
  PublishToQueue(queue, "poison", "poison-1");

  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 1);
  const auto delivery = consumer.Next(10s);
  ASSERT_TRUE(delivery);
  consumer.Nack(delivery->delivery_tag, /*requeue=*/false);

  Consumer dead(TestSettings("amqp-test-dlq"), dlq, 1);
  const auto dead_letter = dead.Next(10s);
  ASSERT_TRUE(dead_letter);
  EXPECT_EQ(dead_letter->message_id, "poison-1");
  EXPECT_EQ(dead_letter->body, "poison");
  EXPECT_FALSE(consumer.Next(200ms));
  // RabbitMQ's x-death is an array of tables: decoded to JSON text, not dropped or crashed on.
  ASSERT_TRUE(dead_letter->headers.count("x-death"));
  const auto* x_death = std::get_if<std::string>(&dead_letter->headers.at("x-death"));
  ASSERT_NE(x_death, nullptr);
  EXPECT_NE(x_death->find("\"reason\":\"rejected\""), std::string::npos) << *x_death;
  EXPECT_NE(x_death->find("\"queue\":\"" + queue + "\""), std::string::npos) << *x_death;
  EXPECT_NE(x_death->find("\"count\":1"), std::string::npos) << *x_death;
  // Original headers survive dead-lettering.
  EXPECT_EQ(dead_letter->headers.at("attempt"), HeaderValue(int64_t{3}));
  dead.Ack(dead_letter->delivery_tag);
}

TEST(AmqpConsumer, NextTimesOutWithNullopt) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("empty");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 1);
  consumer.Connect();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(consumer.Next(700ms));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 650ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(consumer.IsConnected());
  EXPECT_FALSE(consumer.Next(0ms));  // a zero timeout polls once
}

// With a 2 s heartbeat the broker drops a client silent for ~4 s. An idle consumer that
// keeps calling Next() must survive well beyond that, in one long call and in short ones.
TEST(AmqpConsumer, HeartbeatsKeepAnIdleConsumerAlive) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("idle");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  BrokerSettings settings = TestSettings("amqp-test-heartbeat");
  settings.heartbeat_s = 2;
  Consumer consumer(settings, queue, 1);
  consumer.Connect();

  // Meanwhile ask the broker (rabbitmqctl is slow: run it beside the consumer, which must
  // keep calling into the library) which heartbeat it negotiated for our connection.
  std::string negotiated;
  std::jthread inspector([&] { testing::FindConnectionPid(settings.connection_name, &negotiated); });
  EXPECT_FALSE(consumer.Next(9s));  // one call spanning > 4 heartbeat intervals
  inspector.join();
  EXPECT_EQ(negotiated, "2");
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(consumer.Next(1s));
  EXPECT_TRUE(consumer.IsConnected());

  PublishToQueue(queue, "still here");
  const auto delivery = consumer.Next(10s);
  ASSERT_TRUE(delivery);
  EXPECT_EQ(delivery->body, "still here");
  EXPECT_FALSE(delivery->redelivered);  // same connection all along: no requeue happened
  consumer.Ack(delivery->delivery_tag);
}

TEST(AmqpConsumer, TagFromALostConnectionIsIgnored) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("stale");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  PublishToQueue(queue, "one");

  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 1);
  const auto first = consumer.Next(10s);
  ASSERT_TRUE(first);
  consumer.Close();  // the broker requeues it

  const auto again = consumer.Next(10s);  // reconnects
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->redelivered);
  // Both channels numbered their first delivery 1; the old tag must not ack the new one
  // (nor kill the channel with PRECONDITION_FAILED unknown delivery tag).
  EXPECT_NE(first->delivery_tag, again->delivery_tag);
  consumer.Ack(first->delivery_tag);
  EXPECT_FALSE(consumer.Next(300ms));
  EXPECT_TRUE(consumer.IsConnected());
  consumer.Ack(again->delivery_tag);
  consumer.Close();
  EXPECT_TRUE(WaitFor([&] { return MessageCount(*admin, queue) == 0; }, 5s));
}

TEST(AmqpConsumer, PrefetchLimitsUnackedDeliveries) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("prefetch");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  for (int i = 0; i < 3; ++i) PublishToQueue(queue, std::to_string(i));

  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 2);
  const auto a = consumer.Next(10s);
  const auto b = consumer.Next(10s);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(consumer.Next(500ms));  // third held back until one is acked
  consumer.Ack(b->delivery_tag, /*multiple=*/true);  // acks a and b
  const auto c = consumer.Next(10s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->body, "2");
  consumer.Ack(c->delivery_tag);
}

TEST(AmqpConsumer, DeletedQueueCancelsConsumer) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string queue = cleanup.Queue("cancel");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  Consumer consumer(TestSettings("amqp-test-consumer"), queue, 1);
  consumer.Connect();
  DeleteQueue(*admin, queue);
  EXPECT_THROW(consumer.Next(10s), ConsumerCancelled);
  EXPECT_FALSE(consumer.IsConnected());
}

TEST(AmqpConsumer, MissingQueueIsNotFound) {
  Consumer consumer(TestSettings("amqp-test-consumer"),
                    paynotify::testing::UniqueName("amqp-test.absent"), 1);
  try {
    consumer.Next(1s);
    FAIL() << "expected ChannelClosed";
  } catch (const ChannelClosed& error) {
    EXPECT_EQ(error.code, 404);
    EXPECT_NE(error.text.find("NOT_FOUND"), std::string::npos) << error.text;
    EXPECT_FALSE(error.retryable);
  }
  EXPECT_FALSE(consumer.IsConnected());
}

}  // namespace
}  // namespace paynotify::amqp

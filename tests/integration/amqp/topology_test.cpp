// Topology declaration against the real broker: idempotent declares, a mismatch named by
// its argument, and the connection staying usable after the broker closed the channel.

#include <gtest/gtest.h>

#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "tests/integration/amqp/amqp_test_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::amqp {
namespace {

using testing::Cleanup;
using testing::TestSettings;

TEST(AmqpTopology, DeclaresAreIdempotent) {
  Cleanup cleanup;
  auto connection = Connection::Open(TestSettings());
  const ExchangeSpec exchange{.name = cleanup.Exchange("x")};
  const QueueSpec queue{.name = cleanup.Queue("q"),
                        .dead_letter_exchange = "",
                        .dead_letter_routing_key = "dead",
                        .message_ttl_ms = 60000,
                        .max_length = 1000,
                        .overflow = "reject-publish"};
  for (int i = 0; i < 2; ++i) {
    DeclareExchange(*connection, exchange);
    DeclareQueue(*connection, queue);
    BindQueue(*connection, queue.name, exchange.name);
  }
  EXPECT_EQ(MessageCount(*connection, queue.name), 0u);
  EXPECT_EQ(ConsumerCount(*connection, queue.name), 0u);
}

TEST(AmqpTopology, QuorumQueueCanBeDeclared) {
  Cleanup cleanup;
  auto connection = Connection::Open(TestSettings());
  const QueueSpec queue{.name = cleanup.Queue("quorum"), .queue_type = "quorum"};
  DeclareQueue(*connection, queue);
  DeclareQueue(*connection, queue);
  EXPECT_EQ(MessageCount(*connection, queue.name), 0u);
}

// Spring (the Java platform) declares classic queues without x-queue-type; ours sends
// x-queue-type=classic. The broker must treat the two as the same queue.
TEST(AmqpTopology, ClassicQueueWithoutTypeArgumentIsCompatible) {
  Cleanup cleanup;
  auto connection = Connection::Open(TestSettings());
  QueueSpec queue{.name = cleanup.Queue("untyped"), .queue_type = ""};
  DeclareQueue(*connection, queue);
  queue.queue_type = "classic";
  EXPECT_NO_THROW(DeclareQueue(*connection, queue));
}

TEST(AmqpTopology, DifferentTtlIsATopologyMismatchNamingTheArgument) {
  Cleanup cleanup;
  auto connection = Connection::Open(TestSettings());
  QueueSpec queue{.name = cleanup.Queue("ttl"), .message_ttl_ms = 1000};
  DeclareQueue(*connection, queue);

  queue.message_ttl_ms = 2000;
  try {
    DeclareQueue(*connection, queue);
    FAIL() << "expected TopologyMismatch";
  } catch (const TopologyMismatch& error) {
    EXPECT_EQ(error.argument, "x-message-ttl");
    EXPECT_EQ(error.code, 406);
    EXPECT_FALSE(error.retryable);
    EXPECT_NE(std::string(error.what()).find("x-message-ttl"), std::string::npos) << error.what();
    EXPECT_NE(error.text.find("PRECONDITION_FAILED"), std::string::npos) << error.text;
  }
  // The broker closed the channel; the connection reopens it on next use.
  EXPECT_TRUE(connection->IsOpen());
  EXPECT_EQ(MessageCount(*connection, queue.name), 0u);
}

TEST(AmqpTopology, DifferentQueueTypeAndExchangeTypeAreMismatches) {
  Cleanup cleanup;
  auto connection = Connection::Open(TestSettings());
  QueueSpec queue{.name = cleanup.Queue("type")};
  DeclareQueue(*connection, queue);
  queue.queue_type = "quorum";
  try {
    DeclareQueue(*connection, queue);
    FAIL() << "expected TopologyMismatch";
  } catch (const TopologyMismatch& error) {
    EXPECT_EQ(error.argument, "x-queue-type") << error.what();
  }

  ExchangeSpec exchange{.name = cleanup.Exchange("type")};
  DeclareExchange(*connection, exchange);
  exchange.type = "direct";
  try {
    DeclareExchange(*connection, exchange);
    FAIL() << "expected TopologyMismatch";
  } catch (const TopologyMismatch& error) {
    EXPECT_EQ(error.argument, "type") << error.what();
  }
}

TEST(AmqpTopology, MissingQueueIsNotFoundAndConnectionSurvives) {
  auto connection = Connection::Open(TestSettings());
  const std::string missing = paynotify::testing::UniqueName("amqp-test.missing");
  try {
    MessageCount(*connection, missing);
    FAIL() << "expected ChannelClosed";
  } catch (const ChannelClosed& error) {
    EXPECT_EQ(error.code, 404);
    EXPECT_NE(error.text.find(missing), std::string::npos) << error.text;
  }
  EXPECT_NO_THROW(DeleteQueue(*connection, missing));  // deleting what is not there is fine
  EXPECT_THROW(BindQueue(*connection, missing, missing), ChannelClosed);
  EXPECT_TRUE(connection->IsOpen());
}

}  // namespace
}  // namespace paynotify::amqp

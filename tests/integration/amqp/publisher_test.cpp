// ConfirmPublisher against the real broker: every outcome (confirmed, returned, nacked,
// unknown) and the pipelined window.

#include <gtest/gtest.h>

#include <algorithm>
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
using testing::Cleanup;
using testing::FullMessage;
using testing::TestSettings;

// A fanout exchange with one bound queue.
struct Route {
  std::string exchange;
  std::string queue;
};

Route DeclareRoute(Cleanup& cleanup, Connection& connection, QueueSpec queue_spec = {}) {
  Route route{cleanup.Exchange("x"), cleanup.Queue("q")};
  DeclareExchange(connection, ExchangeSpec{.name = route.exchange});
  queue_spec.name = route.queue;
  DeclareQueue(connection, queue_spec);
  BindQueue(connection, route.queue, route.exchange);
  return route;
}

TEST(AmqpPublisher, ConfirmedMessageArrivesWithAllProperties) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const Route route = DeclareRoute(cleanup, *admin);

  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"));
  const OutgoingMessage message = FullMessage(route.exchange, R"({"id":42})");
  const auto outcomes = publisher.PublishBatch({&message, 1}, 10s);
  ASSERT_EQ(outcomes, std::vector<PublishOutcome>{PublishOutcome::kConfirmed});
  EXPECT_TRUE(publisher.IsConnected());

  Consumer consumer(TestSettings("amqp-test-consumer"), route.queue, 10);
  const auto delivery = consumer.Next(10s);
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->body, R"({"id":42})");
  EXPECT_EQ(delivery->exchange, route.exchange);
  EXPECT_EQ(delivery->routing_key, "");
  EXPECT_FALSE(delivery->redelivered);
  EXPECT_EQ(delivery->message_id, message.message_id);
  EXPECT_EQ(delivery->content_type, "application/json");
  EXPECT_EQ(delivery->content_encoding, "identity");
  EXPECT_EQ(delivery->type, "payresult_notify");
  EXPECT_EQ(delivery->app_id, "order-service");
  EXPECT_EQ(delivery->timestamp_s, 1700000000);
  EXPECT_EQ(delivery->delivery_mode, 2);
  EXPECT_EQ(delivery->headers, message.headers);
  consumer.Ack(delivery->delivery_tag);
}

TEST(AmqpPublisher, MandatoryWithoutQueueIsReturnedOthersConfirmed) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const Route route = DeclareRoute(cleanup, *admin);
  const std::string lonely = cleanup.Exchange("lonely");
  DeclareExchange(*admin, ExchangeSpec{.name = lonely});

  // Routable, unroutable, routable, unroutable-but-not-mandatory: the return must be pinned
  // on the right message even though basic.return carries no delivery tag.
  std::vector<OutgoingMessage> batch{FullMessage(route.exchange, "a"), FullMessage(lonely, "b"),
                                     FullMessage(route.exchange, "c"), FullMessage(lonely, "d")};
  batch[3].mandatory = false;
  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"));
  const auto outcomes = publisher.PublishBatch(batch, 10s);
  EXPECT_EQ(outcomes, (std::vector<PublishOutcome>{
                          PublishOutcome::kConfirmed, PublishOutcome::kReturned,
                          PublishOutcome::kConfirmed, PublishOutcome::kConfirmed}));
  EXPECT_TRUE(publisher.IsConnected());

  // The connection stays usable after a return.
  const auto again = publisher.PublishBatch({&batch[1], 1}, 10s);
  EXPECT_EQ(again, std::vector<PublishOutcome>{PublishOutcome::kReturned});
  EXPECT_TRUE(paynotify::testing::WaitFor([&] { return MessageCount(*admin, route.queue) == 2; },
                                          5s));
}

TEST(AmqpPublisher, RejectPublishOverflowIsNacked) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const Route route = DeclareRoute(cleanup, *admin,
                                   QueueSpec{.max_length = 1, .overflow = "reject-publish"});
  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"));
  const std::vector<OutgoingMessage> batch{FullMessage(route.exchange, "first"),
                                           FullMessage(route.exchange, "second")};
  const auto outcomes = publisher.PublishBatch(batch, 10s);
  EXPECT_EQ(outcomes, (std::vector<PublishOutcome>{PublishOutcome::kConfirmed,
                                                    PublishOutcome::kNacked}));
  EXPECT_TRUE(publisher.IsConnected());
  EXPECT_EQ(MessageCount(*admin, route.queue), 1u);
}

TEST(AmqpPublisher, LargeBatchIsPipelinedThroughTheWindow) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const Route route = DeclareRoute(cleanup, *admin);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 5000; ++i) {
    batch.push_back(FullMessage(route.exchange, "message " + std::to_string(i)));
  }
  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"), 1000);
  const auto started = std::chrono::steady_clock::now();
  int all_sent = 0;
  const auto outcomes = publisher.PublishBatch(batch, 60s, [&] { ++all_sent; });
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(outcomes.size(), batch.size());
  EXPECT_EQ(all_sent, 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), PublishOutcome::kConfirmed), 5000);
  // One round trip per message would take far longer than this on loopback with fsyncs.
  EXPECT_LT(took, 30s);
  EXPECT_TRUE(paynotify::testing::WaitFor(
      [&] { return MessageCount(*admin, route.queue) == 5000; }, 10s));

  // Tags continue across batches on the same channel.
  const auto second = publisher.PublishBatch({batch.data(), 10}, 10s);
  EXPECT_EQ(std::count(second.begin(), second.end(), PublishOutcome::kConfirmed), 10);
}

TEST(AmqpPublisher, TimeoutReportsUnknownDropsConnectionAndNextBatchReconnects) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const Route route = DeclareRoute(cleanup, *admin);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 2000; ++i) batch.push_back(FullMessage(route.exchange, "m"));

  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"), 100);
  // A zero timeout expires after the first publish: the rest is never sent.
  bool all_sent = false;
  const auto outcomes = publisher.PublishBatch(batch, 0ms, [&] { all_sent = true; });
  ASSERT_EQ(outcomes.size(), batch.size());
  EXPECT_FALSE(all_sent);
  EXPECT_GT(std::count(outcomes.begin(), outcomes.end(), PublishOutcome::kUnknown), 1000);
  EXPECT_FALSE(publisher.IsConnected());
  EXPECT_NE(publisher.LastError().find("no confirm within 0ms"), std::string::npos)
      << publisher.LastError();

  const auto again = publisher.PublishBatch({batch.data(), 3}, 10s);
  EXPECT_EQ(again, std::vector<PublishOutcome>(3, PublishOutcome::kConfirmed));
  EXPECT_TRUE(publisher.IsConnected());
}

// The broker closes our connection (rabbitmqctl close_connection, like an operator or a
// node shutting down) while a batch is in flight: what had no confirm is kUnknown, the
// connection is dropped, and the next batch reconnects. Only our own connection is closed.
TEST(AmqpPublisher, BrokerClosingConnectionMidBatchGivesUnknownThenReconnects) {
  Cleanup cleanup;
  auto admin = Connection::Open(TestSettings());
  const std::string exchange = cleanup.Exchange("sink");
  DeclareExchange(*admin, ExchangeSpec{.name = exchange});

  BrokerSettings settings = TestSettings("amqp-test-closed");
  ConfirmPublisher publisher(settings, 1000);
  std::vector<PublishOutcome> outcomes;
  // rabbitmqctl needs a couple of seconds to start; the batch must still be running when it
  // closes the connection. If a machine is fast enough to finish first, go bigger.
  size_t size = 200000;
  for (int attempt = 0; attempt < 4; ++attempt, size *= 4) {
    publisher.Connect();
    std::string pid;
    ASSERT_TRUE(paynotify::testing::WaitFor(
        [&] { return !(pid = testing::FindConnectionPid(settings.connection_name)).empty(); },
        20s, 200ms))
        << "connection " << settings.connection_name << " not listed by rabbitmqctl";
    std::vector<OutgoingMessage> batch(size);
    for (auto& message : batch) {
      message.exchange = exchange;  // no queue: the broker confirms at once
      message.body = "x";
      message.mandatory = false;
      message.persistent = false;
    }
    std::atomic<int> close_status{-1};
    std::string close_output;
    std::jthread closer([&] {
      close_status = paynotify::testing::Infra(
          "rabbitmqctl close_connection '" + pid + "' 'paynotify amqp test'", &close_output);
    });
    outcomes = publisher.PublishBatch(batch, 120s);
    closer.join();
    ASSERT_EQ(close_status.load(), 0) << close_output;
    ASSERT_EQ(outcomes.size(), batch.size());
    if (std::count(outcomes.begin(), outcomes.end(), PublishOutcome::kUnknown) > 0) break;
    // Finished before the close: the closed connection is noticed by the next Connect().
  }
  const auto unknown = std::count(outcomes.begin(), outcomes.end(), PublishOutcome::kUnknown);
  const auto confirmed = std::count(outcomes.begin(), outcomes.end(), PublishOutcome::kConfirmed);
  EXPECT_GT(unknown, 0);
  EXPECT_EQ(unknown + confirmed, static_cast<long>(outcomes.size()));
  EXPECT_FALSE(publisher.IsConnected());
  EXPECT_NE(publisher.LastError().find("320"), std::string::npos) << publisher.LastError();

  const OutgoingMessage message = FullMessage(exchange, "after reconnect");
  OutgoingMessage not_mandatory = message;
  not_mandatory.mandatory = false;
  const auto again = publisher.PublishBatch({&not_mandatory, 1}, 10s);
  EXPECT_EQ(again, std::vector<PublishOutcome>{PublishOutcome::kConfirmed});
  EXPECT_TRUE(publisher.IsConnected());
}

TEST(AmqpPublisher, EmptyBatchNeedsNoConnection) {
  BrokerSettings settings = TestSettings();
  settings.addresses = {BrokerAddress{"127.0.0.1", 1}};
  ConfirmPublisher publisher(settings);
  EXPECT_TRUE(publisher.PublishBatch({}, 1s).empty());
  EXPECT_FALSE(publisher.IsConnected());
}

TEST(AmqpPublisher, UnreachableBrokerThrowsRetryable) {
  BrokerSettings settings = TestSettings();
  settings.addresses = {BrokerAddress{"127.0.0.1", 1}};
  settings.connect_timeout = 1s;
  ConfirmPublisher publisher(settings);
  const OutgoingMessage message = FullMessage("nowhere", "x");
  try {
    publisher.PublishBatch({&message, 1}, 1s);
    FAIL() << "expected AmqpError";
  } catch (const AmqpError& error) {
    EXPECT_TRUE(error.retryable) << error.what();
  }
}

TEST(AmqpPublisher, PublishToMissingExchangeIsUnknownWithBrokerReason) {
  ConfirmPublisher publisher(TestSettings("amqp-test-publisher"));
  const OutgoingMessage message =
      FullMessage(paynotify::testing::UniqueName("amqp-test.missing"), "x");
  const auto outcomes = publisher.PublishBatch({&message, 1}, 10s);
  EXPECT_EQ(outcomes, std::vector<PublishOutcome>{PublishOutcome::kUnknown});
  EXPECT_FALSE(publisher.IsConnected());
  EXPECT_NE(publisher.LastError().find("404"), std::string::npos) << publisher.LastError();
  EXPECT_NE(publisher.LastError().find("NOT_FOUND"), std::string::npos) << publisher.LastError();
}

}  // namespace
}  // namespace paynotify::amqp

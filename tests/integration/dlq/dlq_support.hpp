#pragma once
// Shared helpers of the dlq integration tests: a unique main queue and parking queue per test
// (removed afterwards), parked copies made exactly as learning-service's consumer makes them.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/topology.hpp"
#include "common/consumer/topology_plan.hpp"
#include "paynotifyctl/dlq/dlq_operations.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::ctl::dlq::testing {

using namespace std::chrono_literals;

inline amqp::BrokerSettings TestBroker() {
  amqp::BrokerSettings s = paynotify::testing::BrokerSettingsFromEnv(paynotify::testing::UniqueName("dlq-it"));
  s.heartbeat_s = 10;
  return s;
}

/// A payment-result body for selection `bk1`.
inline std::string PaymentBody(int64_t bk1, const std::string& order_type = "60201") {
  return R"({"id":)" + std::to_string(bk1) + R"(,"messageType":"payresult_notify","businessKey1":")" +
         std::to_string(bk1) + R"(","businessKey2":")" + order_type + R"(","businessKey3":null})";
}

class DlqQueues {
 public:
  DlqQueues() {
    target.broker = TestBroker();
    target.queue = paynotify::testing::UniqueName("dlq.it.q");
    target.dead_letter_queue = target.queue + ".dlq";
    target.browse.timeout = 20s;
    target.browse.quiet = 300ms;
    admin_ = amqp::Connection::Open(target.broker);
    amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = target.queue});
    amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = target.dead_letter_queue});
    publisher_ = std::make_unique<amqp::ConfirmPublisher>(target.broker);
  }
  ~DlqQueues() {
    try {
      publisher_.reset();
      if (!admin_->IsOpen()) admin_ = amqp::Connection::Open(target.broker);
      amqp::DeleteQueue(*admin_, target.queue);
      amqp::DeleteQueue(*admin_, target.dead_letter_queue);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "clean-up failed: " << e.what();
    }
  }

  consumer::ConsumerTopology Topology() const {
    consumer::ConsumerTopology t;
    t.exchange = "paynotify_exchange_fanout";
    t.queue = target.queue;
    t.dead_letter_queue = target.dead_letter_queue;
    return t;
  }

  /// Parks a message as the consumer does (MakeDeadLetterCopy) and returns its message_id.
  std::string Park(const std::string& body, const std::string& reason, const std::string& message_id = "") {
    amqp::Delivery original;
    original.exchange = "paynotify_exchange_fanout";
    original.body = body;
    original.message_id = message_id.empty() ? paynotify::testing::UniqueName("mid") : message_id;
    original.content_type = "application/json";
    original.type = "payresult_notify";
    original.app_id = "order-service";
    original.timestamp_s = 1700000000;
    const amqp::OutgoingMessage copy = consumer::MakeDeadLetterCopy(
        original, Topology(), consumer::Disposition::DeadLetter(reason, "it failed: " + reason, 3),
        std::chrono::system_clock::now());
    PublishConfirmed(copy);
    return *original.message_id;
  }

  void PublishConfirmed(const amqp::OutgoingMessage& message) {
    const auto outcomes = publisher_->PublishBatch({&message, 1}, 10s);
    ASSERT_EQ(outcomes.at(0), amqp::PublishOutcome::kConfirmed) << publisher_->LastError();
  }

  uint32_t Ready(const std::string& queue) {
    if (!admin_->IsOpen()) admin_ = amqp::Connection::Open(target.broker);
    return amqp::MessageCount(*admin_, queue);
  }

  /// Every message in `queue` (message ids in order), taken and acked: the end of a test.
  std::vector<amqp::Delivery> Drain(const std::string& queue) {
    std::vector<amqp::Delivery> all;
    amqp::Consumer consumer(target.broker, queue, 100);
    while (auto d = consumer.Next(300ms)) {
      consumer.Ack(d->delivery_tag);
      all.push_back(std::move(*d));
    }
    return all;
  }
  static std::vector<std::string> IdsOf(const std::vector<amqp::Delivery>& deliveries) {
    std::vector<std::string> ids;
    for (const auto& d : deliveries) ids.push_back(d.message_id.value_or("?"));
    return ids;
  }
  /// The message ids `dlq list` shows now (all of them).
  std::vector<std::string> ListedIds() {
    std::vector<std::string> ids;
    for (const auto& s : List(target, std::nullopt, 100000).messages) ids.push_back(s.message_id.value_or("?"));
    return ids;
  }

  DlqTarget target;

 private:
  std::unique_ptr<amqp::Connection> admin_;
  std::unique_ptr<amqp::ConfirmPublisher> publisher_;
};

}  // namespace paynotify::ctl::dlq::testing

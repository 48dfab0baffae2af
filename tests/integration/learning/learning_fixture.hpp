#pragma once
// Shared fixture of the learning-service integration tests: the consumer components
// in-process against the real local RabbitMQ and PostgreSQL, each test with its own exchange,
// queues, learner and selections, all removed afterwards.
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/topology.hpp"
#include "common/metrics/registry.hpp"
#include "learning-service/app/learning_service.hpp"
#include "tests/support/pg_exec.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::learning::testing {

using namespace std::chrono_literals;
using paynotify::testing::ExecCommitted;
using paynotify::testing::ExecCommitted1;
using paynotify::testing::LearningDb;
using paynotify::testing::PgConnString;
using paynotify::testing::UniqueName;
using paynotify::testing::WaitFor;

inline amqp::BrokerSettings TestBroker() {
  amqp::BrokerSettings s = paynotify::testing::BrokerSettingsFromEnv("learning-it");
  s.heartbeat_s = 10;
  s.reconnect = {100ms, 2.0, 1000ms};
  return s;
}

inline pg::PgSettings TestDatabase() {
  pg::PgSettings s = paynotify::testing::PgSettingsFromEnv(LearningDb(), "learning-it");
  s.connect_timeout_s = 2;
  s.reconnect = {200ms, 2.0, 1000ms};
  return s;
}

class LearningIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.broker = TestBroker();
    settings_.database = TestDatabase();
    settings_.topology.exchange = UniqueName("learning.it.ex");
    settings_.topology.queue = UniqueName("learning.it.q");
    settings_.topology.dead_letter_queue = settings_.topology.queue + ".dlq";
    settings_.topology.retry.backoff = {150ms, 2.0, 300ms};
    settings_.topology.retry.max_attempts = 3;
    settings_.prefetch = 10;
    settings_.batch_size = 5;  // several messages per transaction whenever several are waiting
    settings_.poll_interval = 50ms;
    settings_.confirm_timeout = 5s;
    user_ = UniqueName("it");
    admin_ = amqp::Connection::Open(settings_.broker);
    publisher_ = std::make_unique<amqp::ConfirmPublisher>(settings_.broker);
  }

  void TearDown() override {
    if (service_) service_->Stop();
    service_.reset();
    publisher_.reset();
    try {
      if (!admin_->IsOpen()) admin_ = amqp::Connection::Open(settings_.broker);
      for (const auto& q : settings_.topology.Queues()) amqp::DeleteQueue(*admin_, q.name);
      for (const auto& q : extra_queues_) amqp::DeleteQueue(*admin_, q);
      amqp::DeleteExchange(*admin_, settings_.topology.exchange);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "broker clean-up failed: " << e.what();
    }
    try {
      pqxx::connection conn(PgConnString(LearningDb()));
      pqxx::work tx(conn);
      tx.exec_params("DELETE FROM xc_course_tables WHERE user_id = $1", user_);
      tx.exec_params("DELETE FROM xc_choose_course WHERE user_id = $1", user_);
      for (const auto& key : keys_) tx.exec_params("DELETE FROM processed_message WHERE message_key = $1", key);
      tx.commit();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "database clean-up failed: " << e.what();
    }
  }

  void StartService() {
    service_ = std::make_unique<LearningService>(settings_, registry_);
    service_->DeclareTopology();
    service_->ConnectDatabase();
    service_->Start();
  }

  /// A course selection of our learner, awaiting payment unless told otherwise.
  int64_t InsertSelection(const std::string& status = "701002") {
    static std::mt19937_64 rng{std::random_device{}()};
    return ExecCommitted1(
               LearningDb(),
               "INSERT INTO xc_choose_course (course_id, course_name, user_id, company_id, order_type, course_price, "
               "valid_days, status) VALUES ($1, 'Distributed systems', $2, 1232141425, '700002', 99.00, 365, $3) "
               "RETURNING id",
               static_cast<int64_t>(rng() % 1'000'000'000), user_, status)[0]
        .as<int64_t>();
  }

  std::string SelectionStatus(int64_t id) {
    const auto r = ExecCommitted(LearningDb(), "SELECT status FROM xc_choose_course WHERE id = $1", id);
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  int CourseTableRows(int64_t selection_id) {
    return ExecCommitted1(LearningDb(), "SELECT count(*) FROM xc_course_tables WHERE choose_course_id = $1",
                          selection_id)[0]
        .as<int>();
  }

  int ProcessedRows(const std::string& key) {
    return ExecCommitted1(LearningDb(), "SELECT count(*) FROM processed_message WHERE message_key = $1", key)[0]
        .as<int>();
  }

  /// Our publisher's form of a payment result for `selection_id`.
  amqp::OutgoingMessage PaymentMessage(int64_t selection_id, const std::string& order_type = "60201") {
    amqp::OutgoingMessage m;
    m.exchange = settings_.topology.exchange;
    m.message_id = UniqueName("mid");
    keys_.push_back(m.message_id);
    m.type = "payresult_notify";
    m.app_id = "order-service";
    m.timestamp_s = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    m.body = R"({"id":)" + std::to_string(selection_id) + R"(,"messageType":"payresult_notify","businessKey1":")" +
             std::to_string(selection_id) + R"(","businessKey2":")" + order_type + R"(","businessKey3":null})";
    return m;
  }

  void Publish(const amqp::OutgoingMessage& message) {
    const auto outcomes = publisher_->PublishBatch(std::span<const amqp::OutgoingMessage>(&message, 1), 5s);
    ASSERT_EQ(outcomes.size(), 1u);
    ASSERT_EQ(outcomes[0], amqp::PublishOutcome::kConfirmed) << publisher_->LastError();
  }

  double Counter(const std::string& name, metrics::Labels labels = {}) {
    return registry_.GetCounter(name, "", std::move(labels)).Value();
  }

  /// Ready (not unacked) messages in a queue.
  uint32_t Ready(const std::string& queue) {
    if (!admin_->IsOpen()) admin_ = amqp::Connection::Open(settings_.broker);
    return amqp::MessageCount(*admin_, queue);
  }

  LearningSettings settings_;
  metrics::Registry registry_;
  std::unique_ptr<LearningService> service_;
  std::unique_ptr<amqp::Connection> admin_;
  std::unique_ptr<amqp::ConfirmPublisher> publisher_;
  std::string user_;
  std::vector<std::string> keys_;          // processed_message keys to delete
  std::vector<std::string> extra_queues_;  // queues a test declared itself
};

/// A header of a delivery as text for assertions: "<absent>", or "<other>" for a type other
/// than string and integer.
inline std::string HeaderString(const amqp::Headers& headers, const std::string& name) {
  auto it = headers.find(name);
  if (it == headers.end()) return "<absent>";
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  if (const auto* i = std::get_if<int64_t>(&it->second)) return std::to_string(*i);
  return "<other>";
}

}  // namespace paynotify::learning::testing

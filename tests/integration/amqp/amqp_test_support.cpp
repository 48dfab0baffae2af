#include "tests/integration/amqp/amqp_test_support.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::amqp::testing {

BrokerSettings TestSettings(const std::string& connection_name_prefix) {
  BrokerSettings settings =
      paynotify::testing::BrokerSettingsFromEnv(paynotify::testing::UniqueName(connection_name_prefix));
  settings.heartbeat_s = 10;
  settings.connect_timeout = std::chrono::seconds(5);
  return settings;
}

Cleanup::~Cleanup() {
  if (queues_.empty() && exchanges_.empty()) return;
  try {
    auto connection = Connection::Open(TestSettings("amqp-test-cleanup"));
    for (const auto& queue : queues_) DeleteQueue(*connection, queue);
    for (const auto& exchange : exchanges_) DeleteExchange(*connection, exchange);
  } catch (const std::exception& error) {
    ADD_FAILURE() << "cleanup failed: " << error.what();
  }
}

std::string Cleanup::Queue(const std::string& prefix) {
  queues_.push_back(paynotify::testing::UniqueName("amqp-test." + prefix));
  return queues_.back();
}

std::string Cleanup::Exchange(const std::string& prefix) {
  exchanges_.push_back(paynotify::testing::UniqueName("amqp-test." + prefix));
  return exchanges_.back();
}

OutgoingMessage FullMessage(const std::string& exchange, const std::string& body) {
  OutgoingMessage message;
  message.exchange = exchange;
  message.body = body;
  message.message_id = paynotify::testing::UniqueName("msg");
  message.content_type = "application/json";
  message.content_encoding = "identity";
  message.type = "payresult_notify";
  message.app_id = "order-service";
  message.timestamp_s = 1700000000;
  message.headers = {{"trace", std::string("abc")}, {"attempt", int64_t{3}},
                     {"replay", true}, {"ratio", 0.5}};
  return message;
}

std::string FindConnectionPid(const std::string& name, std::string* timeout_s) {
  std::string output;
  const int status = paynotify::testing::Infra(
      "rabbitmqctl list_connections -q --no-table-headers pid timeout client_properties",
      &output);
  if (status != 0) {
    ADD_FAILURE() << "rabbitmqctl list_connections failed: " << output;
    return {};
  }
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("\"" + name + "\"") == std::string::npos) continue;
    // "<pid>\t<timeout>\t[{...}]"
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    if (timeout_s != nullptr) {
      const auto tab2 = line.find('\t', tab + 1);
      *timeout_s = line.substr(tab + 1, tab2 - tab - 1);
    }
    return line.substr(0, tab);
  }
  return {};
}

}  // namespace paynotify::amqp::testing

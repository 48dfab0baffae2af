#include "order-service/relay/amqp_publisher.hpp"

#include "common/amqp/connection.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "common/log/log.hpp"

namespace paynotify::order {

AmqpPublisher::AmqpPublisher(amqp::BrokerSettings settings, size_t confirm_window, std::string exchange)
    : settings_(std::move(settings)), exchange_(std::move(exchange)), publisher_(settings_, confirm_window) {}

AmqpPublisher::~AmqpPublisher() { Close(); }

void AmqpPublisher::Connect() {
  if (publisher_.IsConnected()) return;
  {
    amqp::BrokerSettings topology = settings_;
    topology.connection_name = settings_.connection_name + " (topology)";
    auto connection = amqp::Connection::Open(topology, &topology_rotation_);
    amqp::DeclareExchange(*connection, amqp::ExchangeSpec{exchange_, "fanout", true, false});
    connection->Close();
  }
  publisher_.Connect();
  log::Get("relay")->info("broker connected connection=\"{}\"; exchange {} declared (durable fanout)",
                          settings_.connection_name, exchange_);
}

void AmqpPublisher::EnsureConnected() {
  try {
    Connect();
  } catch (const amqp::AmqpError& e) {
    throw PublisherUnavailable(e.what());
  }
}

bool AmqpPublisher::Maintain() noexcept {
  publisher_.ServiceHeartbeats();
  return publisher_.IsConnected();
}

std::vector<PublishResult> AmqpPublisher::PublishBatch(std::span<const amqp::OutgoingMessage> messages,
                                                       std::chrono::milliseconds confirm_timeout,
                                                       const std::function<void()>& all_sent) {
  EnsureConnected();
  std::vector<amqp::PublishOutcome> outcomes;
  try {
    outcomes = publisher_.PublishBatch(messages, confirm_timeout, all_sent);
  } catch (const amqp::AmqpError& e) {
    // Thrown only when it could not (re)connect: nothing was sent.
    throw PublisherUnavailable(e.what());
  }
  std::vector<PublishResult> results;
  results.reserve(outcomes.size());
  for (const amqp::PublishOutcome outcome : outcomes) {
    PublishResult result{outcome, {}};
    if (outcome == amqp::PublishOutcome::kUnknown) {
      result.detail = publisher_.LastError().empty() ? "no confirm" : publisher_.LastError();
    }
    results.push_back(std::move(result));
  }
  return results;
}

void AmqpPublisher::Close() noexcept {
  try {
    publisher_.Close();
  } catch (...) {
    // best effort on shutdown
  }
}

}  // namespace paynotify::order

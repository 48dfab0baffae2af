#include "order-service/relay/amqp_publisher.hpp"

#include "common/amqp/connection.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "common/log/log.hpp"

namespace paynotify::order {

AmqpPublisher::AmqpPublisher(amqp::BrokerSettings settings, size_t confirm_window, std::string exchange)
    : settings_(std::move(settings)), exchange_(std::move(exchange)), publisher_(settings_, confirm_window) {}

AmqpPublisher::~AmqpPublisher() { Close(); }

void AmqpPublisher::EnsureConnected() {
  if (publisher_.IsConnected()) return;
  try {
    {
      amqp::BrokerSettings topology = settings_;
      topology.connection_name = settings_.connection_name + " (topology)";
      auto connection = amqp::Connection::Open(topology);
      amqp::DeclareExchange(*connection, amqp::ExchangeSpec{exchange_, "fanout", true, false});
      connection->Close();
    }
    publisher_.Connect();
    log::Get("relay")->info("broker connected; exchange {} declared (durable fanout)", exchange_);
  } catch (const amqp::AmqpError& e) {
    throw PublisherUnavailable(e.what());
  }
}

bool AmqpPublisher::Maintain() noexcept {
  publisher_.ServiceHeartbeats();
  return publisher_.IsConnected();
}

std::vector<PublishResult> AmqpPublisher::PublishBatch(std::span<const OutgoingMessage> messages,
                                                       std::chrono::milliseconds confirm_timeout) {
  EnsureConnected();
  std::vector<amqp::OutgoingMessage> out;
  out.reserve(messages.size());
  for (const OutgoingMessage& m : messages) {
    amqp::OutgoingMessage a;
    a.exchange = m.exchange;
    a.routing_key = m.routing_key;
    a.body = m.body;
    a.message_id = m.message_id;
    a.content_type = m.content_type;
    a.type = m.type;
    a.app_id = m.app_id;
    a.timestamp_s = m.timestamp_s;
    a.persistent = m.persistent;
    a.mandatory = m.mandatory;
    out.push_back(std::move(a));
  }
  std::vector<amqp::PublishOutcome> outcomes;
  try {
    outcomes = publisher_.PublishBatch(out, confirm_timeout);
  } catch (const amqp::AmqpError& e) {
    // Thrown only when it could not (re)connect: nothing was sent.
    throw PublisherUnavailable(e.what());
  }
  std::vector<PublishResult> results;
  results.reserve(outcomes.size());
  for (amqp::PublishOutcome o : outcomes) {
    switch (o) {
      case amqp::PublishOutcome::kConfirmed:
        results.push_back({PublishOutcome::kConfirmed, {}});
        break;
      case amqp::PublishOutcome::kNacked:
        results.push_back({PublishOutcome::kNacked, {}});
        break;
      case amqp::PublishOutcome::kReturned:
        results.push_back({PublishOutcome::kReturned, {}});
        break;
      case amqp::PublishOutcome::kUnknown:
        results.push_back({PublishOutcome::kUnknown,
                           publisher_.LastError().empty() ? "no confirm" : publisher_.LastError()});
        break;
    }
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

#include "learning-service/consumer/amqp_adapters.hpp"

#include <fmt/format.h>

#include "common/amqp/connection.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::learning {

Delivery FromAmqp(amqp::Delivery in) {
  Delivery d;
  d.delivery_tag = in.delivery_tag;
  d.redelivered = in.redelivered;
  d.exchange = std::move(in.exchange);
  d.routing_key = std::move(in.routing_key);
  d.body = std::move(in.body);
  d.message_id = std::move(in.message_id);
  d.content_type = std::move(in.content_type);
  d.content_encoding = std::move(in.content_encoding);
  d.type = std::move(in.type);
  d.app_id = std::move(in.app_id);
  d.timestamp_s = in.timestamp_s;
  for (auto& [name, value] : in.headers) {
    d.headers.emplace(name, std::visit([](auto& v) -> HeaderValue { return std::move(v); }, value));
  }
  return d;
}

amqp::OutgoingMessage ToAmqp(const OutgoingCopy& copy) {
  amqp::OutgoingMessage m;
  m.exchange = "";  // the default exchange routes by queue name
  m.routing_key = copy.routing_key;
  m.body = copy.body;
  m.message_id = copy.message_id.value_or("");
  m.content_type = copy.content_type.value_or("");
  m.content_encoding = copy.content_encoding.value_or("");
  m.type = copy.type.value_or("");
  m.app_id = copy.app_id.value_or("");
  m.timestamp_s = copy.timestamp_s;
  m.persistent = true;
  m.mandatory = true;  // a missing retry/parking queue must not silently swallow the copy
  for (const auto& [name, value] : copy.headers) {
    m.headers.emplace(name, std::visit([](const auto& v) -> amqp::HeaderValue { return v; }, value));
  }
  return m;
}

AmqpDeliverySource::AmqpDeliverySource(amqp::BrokerSettings settings, std::string queue, uint16_t prefetch)
    : consumer_(std::move(settings), std::move(queue), prefetch) {}

std::optional<Delivery> AmqpDeliverySource::Next(std::chrono::milliseconds timeout) {
  std::optional<amqp::Delivery> d = consumer_.Next(timeout);
  if (!d) return std::nullopt;
  return FromAmqp(std::move(*d));
}

void AmqpDeliverySource::Ack(uint64_t delivery_tag) { consumer_.Ack(delivery_tag); }

void AmqpDeliverySource::AckThrough(uint64_t delivery_tag) { consumer_.Ack(delivery_tag, /*multiple=*/true); }

void AmqpDeliverySource::Requeue(uint64_t delivery_tag) { consumer_.Nack(delivery_tag, /*requeue=*/true); }

AmqpCopyPublisher::AmqpCopyPublisher(amqp::BrokerSettings settings, std::chrono::milliseconds confirm_timeout)
    : publisher_(std::move(settings), /*window=*/1), confirm_timeout_(confirm_timeout) {}

bool AmqpCopyPublisher::PublishConfirmed(const OutgoingCopy& copy) {
  const amqp::OutgoingMessage message = ToAmqp(copy);
  const std::vector<amqp::PublishOutcome> outcomes =
      publisher_.PublishBatch(std::span<const amqp::OutgoingMessage>(&message, 1), confirm_timeout_);
  const amqp::PublishOutcome outcome = outcomes.empty() ? amqp::PublishOutcome::kUnknown : outcomes.front();
  if (outcome != amqp::PublishOutcome::kConfirmed) {
    log::Get("consumer")
        ->warn("copy to queue={} {}{}", copy.routing_key, amqp::ToString(outcome),
               publisher_.LastError().empty() ? "" : ": " + text::Printable(publisher_.LastError(), 512));
  }
  return outcome == amqp::PublishOutcome::kConfirmed;
}

void DeclareConsumerTopology(const amqp::BrokerSettings& settings, const ConsumerTopology& topology) {
  auto log = log::Get("topology");
  std::unique_ptr<amqp::Connection> connection = amqp::Connection::Open(settings);
  amqp::DeclareExchange(*connection, amqp::ExchangeSpec{.name = topology.exchange});
  for (const QueuePlan& plan : topology.Queues()) {
    amqp::QueueSpec spec;
    spec.name = plan.name;
    spec.queue_type = plan.queue_type;
    spec.message_ttl_ms = plan.message_ttl_ms;
    spec.dead_letter_exchange = plan.dead_letter_exchange;
    spec.dead_letter_routing_key = plan.dead_letter_routing_key;
    try {
      amqp::DeclareQueue(*connection, spec);
    } catch (const amqp::TopologyMismatch& e) {
      // Re-throw with the queue named: the broker's text names the argument, not always the queue.
      throw amqp::TopologyMismatch(
          fmt::format("queue '{}' exists with a different '{}' than configured ({}); delete the queue or change the "
                      "configuration (consumer.*, rabbitmq.listener.retry.*)",
                      plan.name, e.argument, e.text),
          e.code, e.text, e.argument);
    }
    if (plan.bind_to_exchange) amqp::BindQueue(*connection, plan.name, topology.exchange);
    log->info("declared queue={} type={}{}{}", plan.name, plan.queue_type,
              plan.message_ttl_ms ? fmt::format(" x-message-ttl={}", *plan.message_ttl_ms) : "",
              plan.bind_to_exchange ? fmt::format(" bound to exchange={}", topology.exchange) : "");
  }
  connection->Close();
}

}  // namespace paynotify::learning

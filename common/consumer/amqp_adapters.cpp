#include "common/consumer/amqp_adapters.hpp"

#include <fmt/format.h>

#include "common/amqp/connection.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/topology.hpp"
#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::consumer {

AmqpDeliverySource::AmqpDeliverySource(amqp::BrokerSettings settings, std::string queue, uint16_t prefetch)
    : consumer_(std::move(settings), std::move(queue), prefetch) {}

std::optional<amqp::Delivery> AmqpDeliverySource::Next(std::chrono::milliseconds timeout) {
  return consumer_.Next(timeout);
}

void AmqpDeliverySource::Ack(uint64_t delivery_tag) { consumer_.Ack(delivery_tag); }

void AmqpDeliverySource::AckThrough(uint64_t delivery_tag) { consumer_.Ack(delivery_tag, /*multiple=*/true); }

void AmqpDeliverySource::Requeue(uint64_t delivery_tag) { consumer_.Nack(delivery_tag, /*requeue=*/true); }

AmqpCopyPublisher::AmqpCopyPublisher(amqp::BrokerSettings settings, std::chrono::milliseconds confirm_timeout)
    : publisher_(std::move(settings), /*window=*/1), confirm_timeout_(confirm_timeout) {}

bool AmqpCopyPublisher::PublishConfirmed(const amqp::OutgoingMessage& copy) {
  const std::vector<amqp::PublishOutcome> outcomes =
      publisher_.PublishBatch(std::span<const amqp::OutgoingMessage>(&copy, 1), confirm_timeout_);
  const amqp::PublishOutcome outcome = outcomes.empty() ? amqp::PublishOutcome::kUnknown : outcomes.front();
  if (outcome != amqp::PublishOutcome::kConfirmed) {
    log::Get("consumer")
        ->warn("copy to queue={} {}{}", copy.routing_key, amqp::ToString(outcome),
               publisher_.LastError().empty() ? "" : ": " + text::Printable(publisher_.LastError(), 512));
  }
  return outcome == amqp::PublishOutcome::kConfirmed;
}

namespace {

// After a mismatch on an existing queue: whether its x-queue-type is what differs. Asks with a
// declare that carries x-queue-type alone, which the broker compares argument by argument: it
// fails naming x-queue-type only if the type differs (an absent argument on both sides is
// equal). Nothing is created: the queue exists (it just refused our declare); only if it was
// deleted in between would this create a bare queue, which the next start reports.
std::optional<amqp::TopologyMismatch> QueueTypeMismatch(amqp::Connection& connection, const QueuePlan& plan) {
  try {
    amqp::DeclareQueue(connection, amqp::QueueSpec{.name = plan.name, .queue_type = plan.queue_type});
  } catch (const amqp::TopologyMismatch& e) {
    if (e.argument == "x-queue-type") return e;
  } catch (const amqp::AmqpError&) {
    // The original mismatch is the answer then.
  }
  return std::nullopt;
}

}  // namespace

void DeclareConsumerTopology(const amqp::BrokerSettings& settings, const ConsumerTopology& topology,
                             std::string_view config_keys) {
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
    spec.delivery_limit = plan.delivery_limit;
    spec.dead_letter_strategy = plan.dead_letter_strategy;
    spec.overflow = plan.overflow;
    try {
      amqp::DeclareQueue(*connection, spec);
    } catch (const amqp::TopologyMismatch& mismatch) {
      // The broker names the first argument that differs in ITS order, in which the
      // dead-letter arguments come before x-queue-type: a classic queue met by quorum mode
      // (or the reverse) would be reported as "x-dead-letter-exchange", hiding the real cause.
      const amqp::TopologyMismatch e = QueueTypeMismatch(*connection, plan).value_or(mismatch);
      // Re-throw with the queue named: the broker's text names the argument, not always the queue.
      throw amqp::TopologyMismatch(
          fmt::format("queue '{}' exists with a different '{}' than configured ({}); delete the queue or change the "
                      "configuration{}",
                      plan.name, e.argument, e.text,
                      config_keys.empty() ? std::string() : fmt::format(" ({})", config_keys)),
          e.code, e.text, e.argument);
    }
    if (plan.bind_to_exchange) amqp::BindQueue(*connection, plan.name, topology.exchange);
    log->info("declared queue={} type={}{}{}{}", plan.name, plan.queue_type,
              plan.message_ttl_ms ? fmt::format(" x-message-ttl={}", *plan.message_ttl_ms) : "",
              plan.delivery_limit ? fmt::format(" x-delivery-limit={}", *plan.delivery_limit) : "",
              plan.bind_to_exchange ? fmt::format(" bound to exchange={}", topology.exchange) : "");
  }
  connection->Close();
}

}  // namespace paynotify::consumer

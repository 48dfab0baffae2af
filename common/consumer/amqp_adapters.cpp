#include "common/consumer/amqp_adapters.hpp"

#include <fmt/format.h>

#include <optional>
#include <string_view>

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

amqp::QueueSpec Spec(const QueuePlan& plan) {
  amqp::QueueSpec spec;
  spec.name = plan.name;
  spec.queue_type = plan.queue_type;
  spec.message_ttl_ms = plan.message_ttl_ms;
  spec.dead_letter_exchange = plan.dead_letter_exchange;
  spec.dead_letter_routing_key = plan.dead_letter_routing_key;
  spec.delivery_limit = plan.delivery_limit;
  spec.dead_letter_strategy = plan.dead_letter_strategy;
  spec.overflow = plan.overflow;
  return spec;
}

// The broker compares a declare with an existing queue argument by argument, in the order of
// the EXISTING queue's type (RabbitMQ 3.10, queue_arguments of rabbit_quorum_queue and
// rabbit_classic_queue), and names the first that differs (an argument absent on both sides is
// equal). The dead-letter arguments and x-overflow come before x-queue-type in both orders, so
// a queue of the other type than configured is usually reported as differing in one of these.
// x-delivery-limit is compared by quorum queues only, after x-queue-type.
bool MayHideTheQueueType(std::string_view argument) {
  return argument == "x-dead-letter-exchange" || argument == "x-dead-letter-routing-key" ||
         argument == "x-dead-letter-strategy" || argument == "x-overflow";
}

// What a probe declare of `spec` says about whether the existing queue is of spec.queue_type.
// Nothing is created: the queue exists (it just refused our declare); only if it was deleted
// in between would a probe create it, which the next start reports as a mismatch.
std::optional<bool> IsOfType(amqp::Connection& connection, const amqp::QueueSpec& spec) {
  try {
    amqp::DeclareQueue(connection, spec);
    return true;  // accepted, x-queue-type included
  } catch (const amqp::TopologyMismatch& e) {
    if (e.argument == "x-queue-type") return false;
    if (e.argument == "x-delivery-limit") return true;  // a quorum queue, past x-queue-type
  } catch (const amqp::AmqpError&) {
    // No answer; the original mismatch stands.
  }
  return std::nullopt;
}

enum class TypeDiffers { kYes, kNo, kUnknown };

// After a mismatch naming `argument`: whether the existing queue is of the other type than
// configured. Two probes:
//  1. x-queue-type alone, the configured type: tells for a queue without dead-letter arguments
//     (a bare classic queue met by quorum mode);
//  2. the queue exactly as the other type's mode declares it: tells for a queue of that mode
//     (a quorum queue met by classic mode, whose dead-letter arguments hide its type from 1).
TypeDiffers QueueTypeDiffers(amqp::Connection& connection, const ConsumerTopology& topology, const QueuePlan& plan,
                             std::string_view argument) {
  if (argument == "x-queue-type") return TypeDiffers::kYes;
  if (!MayHideTheQueueType(argument)) return TypeDiffers::kNo;
  if (const auto same = IsOfType(connection, amqp::QueueSpec{.name = plan.name, .queue_type = plan.queue_type})) {
    return *same ? TypeDiffers::kNo : TypeDiffers::kYes;
  }
  ConsumerTopology other = topology;
  other.queue_type = topology.IsQuorum() ? "classic" : "quorum";
  for (const QueuePlan& other_plan : other.Queues()) {
    if (other_plan.name != plan.name) continue;
    if (const auto other_type = IsOfType(connection, Spec(other_plan))) {
      return *other_type ? TypeDiffers::kYes : TypeDiffers::kNo;
    }
    break;
  }
  return TypeDiffers::kUnknown;
}

}  // namespace

void DeclareConsumerTopology(const amqp::BrokerSettings& settings, const ConsumerTopology& topology,
                             std::string_view config_keys, std::string_view queue_type_key) {
  auto log = log::Get("topology");
  std::unique_ptr<amqp::Connection> connection = amqp::Connection::Open(settings);
  amqp::DeclareExchange(*connection, amqp::ExchangeSpec{.name = topology.exchange});
  const std::string other_type = topology.IsQuorum() ? "classic" : "quorum";
  const std::string type_key = queue_type_key.empty() ? std::string("queue type") : std::string(queue_type_key);
  for (const QueuePlan& plan : topology.Queues()) {
    try {
      amqp::DeclareQueue(*connection, Spec(plan));
    } catch (const amqp::TopologyMismatch& mismatch) {
      std::string argument = mismatch.argument;
      std::string type_hint;
      switch (QueueTypeDiffers(*connection, topology, plan, mismatch.argument)) {
        case TypeDiffers::kYes:
          argument = "x-queue-type";
          type_hint = fmt::format(". It is a {} queue, configured is {} ({}): a queue's type cannot be changed in place",
                                  other_type, plan.queue_type, type_key);
          break;
        case TypeDiffers::kUnknown:
          type_hint = fmt::format(
              ". If it is a {} queue (configured is {}, {}), that is the cause: the broker names the dead-letter "
              "arguments before the type",
              other_type, plan.queue_type, type_key);
          break;
        case TypeDiffers::kNo:
          break;
      }
      // Re-throw with the queue named: the broker's text names the argument, not always the queue.
      // Never advise a plain delete: the messages in the queue exist nowhere else (their
      // publisher let go of each one once the broker confirmed it).
      throw amqp::TopologyMismatch(
          fmt::format("queue '{}' exists with a different '{}' than configured ({}){}; change the configuration{} "
                      "back to match the queue. To apply the new setting, empty the queue first: stop the "
                      "publishers (their relay) and let it drain to 0 messages under the old configuration (the "
                      "parking queue: replay its messages), then delete it, or move to a new queue name and delete "
                      "this one once it is empty. Deleting a queue that still holds messages "
                      "loses them",
                      plan.name, argument, mismatch.text, type_hint,
                      config_keys.empty() ? std::string() : fmt::format(" ({})", config_keys)),
          mismatch.code, mismatch.text, argument);
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

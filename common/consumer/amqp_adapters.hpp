#pragma once
/// AMQP adapters of the consumer loop's ports, over common/amqp (rabbitmq-c). Its own
/// library (paynotify_consumer_amqp), so a service core links the loop without rabbitmq-c.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/settings.hpp"
#include "common/consumer/ports.hpp"
#include "common/consumer/topology_plan.hpp"

namespace paynotify::consumer {

/// DeliverySource over amqp::Consumer (manual ack, prefetch). One thread only. Next()
/// connects lazily and reconnects after a loss (the loop backs off between failures).
class AmqpDeliverySource final : public DeliverySource {
 public:
  AmqpDeliverySource(amqp::BrokerSettings settings, std::string queue, uint16_t prefetch);

  std::optional<amqp::Delivery> Next(std::chrono::milliseconds timeout) override;
  void Ack(uint64_t delivery_tag) override;
  void AckThrough(uint64_t delivery_tag) override;
  void Requeue(uint64_t delivery_tag) override;
  void DropConnection() noexcept override { consumer_.Close(); }
  /// Unacked deliveries go back to the queue. Never throws.
  void Close() { consumer_.Close(); }

 private:
  amqp::Consumer consumer_;
};

/// CopyPublisher over amqp::ConfirmPublisher: one copy at a time through the default
/// exchange, persistent and mandatory, confirmed within `confirm_timeout`. One thread only.
class AmqpCopyPublisher final : public CopyPublisher {
 public:
  AmqpCopyPublisher(amqp::BrokerSettings settings, std::chrono::milliseconds confirm_timeout);

  bool PublishConfirmed(const amqp::OutgoingMessage& copy) override;
  void Maintain() override { publisher_.ServiceHeartbeats(); }
  void Close() { publisher_.Close(); }

 private:
  amqp::ConfirmPublisher publisher_;
  std::chrono::milliseconds confirm_timeout_;
};

/// Declares (idempotently) the fanout exchange, the main queue bound to it, the retry
/// queues and the parking queue on a short-lived connection. Throws amqp::TopologyMismatch
/// naming the queue and the differing argument when something exists with other settings,
/// other amqp::AmqpError when the broker cannot be reached. `config_keys`, if given, names
/// the service's settings behind the topology, for the mismatch message. A queue of the other
/// type than topology.queue_type is reported as argument "x-queue-type" (also when the broker
/// named a dead-letter argument first), the message naming `queue_type_key` (the setting of
/// the type); when that cannot be told, the message says that the type may be the cause.
void DeclareConsumerTopology(const amqp::BrokerSettings& settings, const ConsumerTopology& topology,
                             std::string_view config_keys = {}, std::string_view queue_type_key = {});

}  // namespace paynotify::consumer

#pragma once
/// AMQP adapters of the consumer ports, over common/amqp (rabbitmq-c).
#include <chrono>
#include <cstdint>
#include <string>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/settings.hpp"
#include "learning-service/consumer/consumer_loop.hpp"
#include "learning-service/consumer/topology_plan.hpp"

namespace paynotify::learning {

/// DeliverySource over amqp::Consumer (manual ack, prefetch). One thread only. Next()
/// connects lazily and reconnects after a loss (the loop backs off between failures).
class AmqpDeliverySource final : public DeliverySource {
 public:
  AmqpDeliverySource(amqp::BrokerSettings settings, std::string queue, uint16_t prefetch);

  std::optional<Delivery> Next(std::chrono::milliseconds timeout) override;
  void Ack(uint64_t delivery_tag) override;
  void AckThrough(uint64_t delivery_tag) override;
  void Requeue(uint64_t delivery_tag) override;
  bool IsConnected() const { return consumer_.IsConnected(); }
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

  bool PublishConfirmed(const OutgoingCopy& copy) override;
  void Maintain() override { publisher_.ServiceHeartbeats(); }
  bool IsConnected() const { return publisher_.IsConnected(); }
  void Close() { publisher_.Close(); }

 private:
  amqp::ConfirmPublisher publisher_;
  std::chrono::milliseconds confirm_timeout_;
};

/// Declares (idempotently) the fanout exchange, the main queue bound to it, the retry
/// queues and the parking queue on a short-lived connection. Throws amqp::TopologyMismatch
/// naming the queue and the differing argument when something exists with other settings,
/// other amqp::AmqpError when the broker cannot be reached.
void DeclareConsumerTopology(const amqp::BrokerSettings& settings, const ConsumerTopology& topology);

/// Converts between the common/amqp types and ours (exposed for tests).
Delivery FromAmqp(amqp::Delivery delivery);
amqp::OutgoingMessage ToAmqp(const OutgoingCopy& copy);

}  // namespace paynotify::learning

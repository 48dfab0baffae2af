#pragma once
/// Publisher over amqp::ConfirmPublisher (rabbitmq-c 0.11): pipelined publishing with a
/// window of outstanding confirms. Declares the exchange (durable fanout) on a short-lived
/// topology connection before every (re)connect, so a broker that lost its definitions
/// (fresh node, deleted exchange) gets it back before we publish.
#include <memory>
#include <string>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/settings.hpp"
#include "order-service/relay/publisher.hpp"

namespace paynotify::order {

/// One thread only (the relay's), like the ConfirmPublisher it wraps.
class AmqpPublisher final : public Publisher {
 public:
  AmqpPublisher(amqp::BrokerSettings settings, size_t confirm_window, std::string exchange);
  ~AmqpPublisher() override;

  std::vector<PublishResult> PublishBatch(std::span<const amqp::OutgoingMessage> messages,
                                          std::chrono::milliseconds confirm_timeout,
                                          const std::function<void()>& all_sent) override;
  void EnsureConnected() override;
  /// EnsureConnected() for start-up: the amqp::AmqpError itself (with `retryable`, or
  /// amqp::TopologyMismatch), not PublisherUnavailable, so a refusal can be told apart.
  void Connect();
  bool Maintain() noexcept override;
  void Close() noexcept override;

 private:
  amqp::BrokerSettings settings_;
  // The exchange is declared on a connection of its own: it too starts with the node after
  // the one it last reached, so a reconnect after a node died does not wait on that node first.
  amqp::AddressRotation topology_rotation_;
  std::string exchange_;
  amqp::ConfirmPublisher publisher_;
};

}  // namespace paynotify::order

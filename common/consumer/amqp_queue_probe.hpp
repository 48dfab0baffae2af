#pragma once
/// QueueProbe over common/amqp: a passive queue.declare on a connection of its own.
#include <memory>
#include <string>

#include "common/amqp/connection.hpp"
#include "common/amqp/settings.hpp"
#include "common/consumer/queue_sampler.hpp"

namespace paynotify::consumer {

/// Opens its connection lazily (on the first call, again after a failure), so it never
/// shares one with the consumer. One thread only (the sampler's). The connection is used only
/// within ReadyMessages calls, i.e. once per sampler interval: give it settings without
/// heartbeats (heartbeat_s = 0) unless that interval is under heartbeat/2; each call is
/// bounded by settings.rpc_timeout either way.
class AmqpQueueProbe final : public QueueProbe {
 public:
  explicit AmqpQueueProbe(amqp::BrokerSettings settings);
  ~AmqpQueueProbe() override;

  /// Throws amqp::AmqpError (ChannelClosed 404 for a missing queue: the connection stays).
  uint64_t ReadyMessages(const std::string& queue) override;
  /// Closes the connection; a later call opens a new one. Never throws.
  void Close() noexcept;

 private:
  amqp::BrokerSettings settings_;
  amqp::AddressRotation rotation_;  // a reconnect starts with the node after the last one
  std::unique_ptr<amqp::Connection> connection_;
};

}  // namespace paynotify::consumer

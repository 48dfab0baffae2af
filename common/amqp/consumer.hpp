#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/amqp/connection.hpp"
#include "common/amqp/message.hpp"
#include "common/amqp/settings.hpp"

namespace paynotify::amqp {

/// Consumes one queue with manual acknowledgement on its own connection
/// (basic.qos prefetch, basic.consume no_ack=false).
///
/// Delivery contract (at-least-once): a delivery stays unacknowledged until Ack / Nack; if
/// the connection is lost first, the broker requeues it and it comes again with
/// redelivered=true — possibly to another consumer — so processing must be idempotent.
///
/// Threading: one thread only (it owns a rabbitmq-c connection). Heartbeats are serviced
/// inside Next(), which wakes at least every heartbeat/2; a worker that calls Next() in a
/// loop keeps an idle connection alive. Don't block for longer than the heartbeat between
/// calls. The consuming thread needs a few MiB of stack: rabbitmq-c decodes header tables
/// recursively, and one frame can nest them ~18,000 levels deep (up to 2 MiB of stack). With
/// less than 4 MiB the first Connect() logs a warning; threads inherit RLIMIT_STACK (8 MiB
/// by default on Linux).
class Consumer {
 public:
  /// Does not connect; the first Next() does.
  Consumer(BrokerSettings settings, std::string queue, uint16_t prefetch);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// Opens the connection and starts consuming now if not connected. Throws AmqpError
  /// (ChannelClosed 404 when the queue does not exist).
  void Connect();

  /// The next delivery, or nullopt when none arrives within `timeout`. Connects first if
  /// needed. Throws AmqpError when the connection cannot be opened or is lost (socket,
  /// heartbeat timeout, broker close, ConsumerCancelled); the connection is then dropped
  /// and the next call reconnects — after the caller's back-off.
  std::optional<Delivery> Next(std::chrono::milliseconds timeout);

  /// Settles a delivery (or, with `multiple`, every unsettled one up to it). A tag from a
  /// connection that has since been lost is ignored: the broker already requeued that
  /// message. Throws AmqpError when sending fails (the connection is then dropped).
  void Ack(uint64_t delivery_tag, bool multiple = false);
  /// basic.nack (RabbitMQ's extension; a superset of basic.reject, which we do not use):
  /// `requeue` false dead-letters the message through the queue's x-dead-letter-exchange, and
  /// DROPS it when the queue has none (our main queues have none: the consumer loop parks a
  /// message by publishing a confirmed copy, and only ever requeues with Nack).
  void Nack(uint64_t delivery_tag, bool requeue, bool multiple = false);

  bool IsConnected() const;
  /// Graceful close; unacknowledged deliveries go back to the queue. Never throws.
  void Close();

 private:
  // Delivery tags handed out carry the connection generation in their top 16 bits, so a
  // tag from a lost connection can never settle a message of the current one.
  static constexpr int kGenerationShift = 48;
  std::optional<uint64_t> BrokerTag(uint64_t delivery_tag) const;
  void Drop(bool graceful);
  void HandleOtherFrame();

  BrokerSettings settings_;
  AddressRotation rotation_;  // a reconnect starts with the node after the last one
  std::string queue_;
  uint16_t prefetch_;
  std::unique_ptr<Connection> connection_;
  uint64_t generation_ = 0;
};

}  // namespace paynotify::amqp

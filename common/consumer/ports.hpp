#pragma once
/// The consumer loop's ports to the broker: where deliveries come from and are settled, and
/// where retry / dead-letter copies go. Declared by the loop (the caller owns the seam); the
/// AMQP adapters are in amqp_adapters.hpp, test doubles in tests/support/consumer_fakes.hpp.
#include <chrono>
#include <cstdint>
#include <optional>

#include "common/amqp/message.hpp"

namespace paynotify::consumer {

/// Port: where deliveries come from and are settled. Used from one thread only.
class DeliverySource {
 public:
  virtual ~DeliverySource() = default;
  /// Next delivery, or nullopt after `timeout` without one. Connects if not connected.
  /// Throws (any std::exception) when the connection is lost or cannot be opened; the next
  /// call reconnects. Unacked deliveries of a lost connection are redelivered by the broker.
  virtual std::optional<amqp::Delivery> Next(std::chrono::milliseconds timeout) = 0;
  /// Positive ack. Throws on a lost connection (the broker then redelivers).
  virtual void Ack(uint64_t delivery_tag) = 0;
  /// Positive ack of every unsettled delivery up to and including `delivery_tag` (AMQP
  /// multiple=true). Throws on a lost connection.
  virtual void AckThrough(uint64_t delivery_tag) = 0;
  /// Negative ack with requeue=true: the broker delivers it again. Throws on a lost connection.
  virtual void Requeue(uint64_t delivery_tag) = 0;
  /// Drops the connection without settling anything: every unsettled delivery goes back to
  /// the queue, and the next Next() reconnects. The loop's way out when it can no longer tell
  /// which deliveries it still holds (an unexpected error mid-batch). Never throws.
  virtual void DropConnection() noexcept = 0;
};

/// Port: publishes a copy and waits for the broker's confirm. Used from one thread only.
class CopyPublisher {
 public:
  virtual ~CopyPublisher() = default;
  /// True only if the broker confirmed `copy` (built by topology_plan.hpp: default exchange,
  /// persistent, mandatory); false if it was nacked, returned or the outcome is unknown. May
  /// throw if no connection can be opened; the loop treats that like false.
  virtual bool PublishConfirmed(const amqp::OutgoingMessage& copy) = 0;
  /// Called by the loop between deliveries (at least every poll interval): keep an idle
  /// connection alive (heartbeats). Never throws.
  virtual void Maintain() {}
};

}  // namespace paynotify::consumer

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/amqp/connection.hpp"
#include "common/amqp/message.hpp"
#include "common/amqp/settings.hpp"

namespace paynotify::amqp {

/// Publishes with publisher confirms (confirm.select) on its own connection, pipelined: up
/// to `window` messages are outstanding (published, not yet confirmed) at a time, never one
/// round trip per message.
///
/// Guarantee: PublishBatch returns exactly one outcome per message, in input order.
/// kConfirmed means the broker took responsibility; kNacked/kReturned mean it did not;
/// kUnknown means it may or may not have — the caller publishes again (at-least-once, so
/// consumers de-duplicate by message_id).
///
/// Threading: one thread only (it owns a rabbitmq-c connection). Heartbeats are serviced
/// while a batch is in flight; between batches call ServiceHeartbeats() at least every
/// heartbeat/2 if you want the connection kept (otherwise the broker may drop an idle one,
/// which the next PublishBatch notices and reconnects first).
class ConfirmPublisher {
 public:
  explicit ConfirmPublisher(BrokerSettings settings, size_t window = 1000);
  ~ConfirmPublisher();
  ConfirmPublisher(const ConfirmPublisher&) = delete;
  ConfirmPublisher& operator=(const ConfirmPublisher&) = delete;

  /// Publishes every message and waits for their confirms, all within `confirm_timeout`
  /// (measured from the call, excluding connecting). Opens the connection first if needed
  /// (throws AmqpError if it cannot: nothing was published then). When the connection or
  /// channel is lost, or the timeout expires, every message without a confirm is kUnknown
  /// (including those not yet sent), the connection is dropped and LastError() says why;
  /// the next call reconnects. Never throws after the first message was sent.
  /// A mandatory message no queue took is kReturned (basic.return precedes its ack).
  /// `all_sent`, if set, is called once the last message was written to the socket, before
  /// the wait for the last confirms (not at all when the batch ends before that); it must
  /// not throw (an exception from it is logged and dropped: the messages are sent).
  std::vector<PublishOutcome> PublishBatch(std::span<const OutgoingMessage> messages,
                                           std::chrono::milliseconds confirm_timeout,
                                           const std::function<void()>& all_sent = {});

  /// Opens the connection (confirm mode) now if not connected. Throws AmqpError.
  /// (Lets a daemon report readiness before the first batch.)
  void Connect();
  /// True while a connection is open (it may still turn out dead on next use).
  bool IsConnected() const;
  /// Reads pending frames without blocking (answering heartbeats, noticing a broker
  /// close). Drops a dead connection. Never throws.
  void ServiceHeartbeats();
  /// Graceful close (bounded by rpc_timeout); the next PublishBatch reconnects.
  void Close();
  /// Why the last batch had kUnknown outcomes or the connection was last dropped; empty if
  /// it has not happened.
  const std::string& LastError() const { return last_error_; }

 private:
  struct Batch;
  void PublishOne(const OutgoingMessage& message);
  bool Pump(Batch& batch, std::chrono::milliseconds wait);
  void Drop(const std::string& reason, bool graceful);

  BrokerSettings settings_;
  AddressRotation rotation_;  // a reconnect starts with the node after the last one
  size_t window_;
  std::unique_ptr<Connection> connection_;
  uint64_t next_tag_ = 1;  // delivery tag the broker assigns to our next publish
  std::string last_error_;
};

}  // namespace paynotify::amqp

#pragma once
/// Port: a confirming message publisher (AmqpPublisher over amqp::ConfirmPublisher in
/// production, FakePublisher in unit tests). Speaks the plain message types of
/// common/amqp/message.hpp (paynotify_amqp_message: no rabbitmq-c), so the relay core links
/// without rabbitmq-c.
#include <chrono>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/amqp/message.hpp"

namespace paynotify::order {

/// The outcome of one message, with what happened when there was no confirm.
struct PublishResult {
  amqp::PublishOutcome outcome = amqp::PublishOutcome::kUnknown;
  std::string detail;  ///< for kUnknown (and kNacked when known): what happened
};

/// The publisher could not publish at all (broker unreachable, login refused, topology
/// declaration failed). Nothing of the batch reached the broker. The relay backs off.
class PublisherUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Used by one thread (the relay's).
class Publisher {
 public:
  virtual ~Publisher() = default;
  /// Publishes every message, pipelined, and waits (at most confirm_timeout) for their
  /// confirms. Exactly one result per message, in order. Connects (and declares the
  /// topology) first if needed. Throws PublisherUnavailable when it cannot connect.
  /// Calls `all_sent` (when set) once every message is on its way, before the wait for the
  /// last confirms; not at all when the batch ends before that. It must not throw (what it
  /// throws is logged and dropped: the batch's messages are already sent).
  virtual std::vector<PublishResult> PublishBatch(std::span<const amqp::OutgoingMessage> messages,
                                                  std::chrono::milliseconds confirm_timeout,
                                                  const std::function<void()>& all_sent) = 0;
  /// Connects and declares the topology if not connected. Throws PublisherUnavailable.
  virtual void EnsureConnected() = 0;
  /// Called between batches (at least every poll interval): services heartbeats and
  /// notices a broker that closed the connection. Returns whether a connection is open.
  /// Never throws.
  virtual bool Maintain() noexcept = 0;
  /// Closes the connection (idempotent, noexcept best-effort).
  virtual void Close() noexcept = 0;
};

}  // namespace paynotify::order

#pragma once
/// Port: a confirming message publisher (AmqpPublisher over amqp::ConfirmPublisher in
/// production, FakePublisher in unit tests). Kept free of rabbitmq-c types so the relay core
/// links without it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace paynotify::order {

/// One message to publish, with its AMQP properties.
struct OutgoingMessage {
  std::string exchange;
  std::string routing_key;
  std::string body;
  std::string message_id;
  std::string content_type;
  std::string type;
  std::string app_id;
  std::optional<int64_t> timestamp_s;
  bool persistent = true;
  bool mandatory = true;
};

enum class PublishOutcome {
  kConfirmed,  ///< broker took responsibility (basic.ack, not preceded by a return)
  kNacked,     ///< basic.nack
  kReturned,   ///< mandatory publish no queue took (basic.return, then ack)
  kUnknown,    ///< no confirm: connection/channel lost or confirm timeout
};

struct PublishResult {
  PublishOutcome outcome = PublishOutcome::kUnknown;
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
  virtual std::vector<PublishResult> PublishBatch(std::span<const OutgoingMessage> messages,
                                                  std::chrono::milliseconds confirm_timeout) = 0;
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

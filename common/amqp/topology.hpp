#pragma once
// Declaring exchanges, queues and bindings. All calls are idempotent: declaring what
// already exists with the same settings is a no-op; declaring it with different settings
// throws TopologyMismatch naming the argument that differs (the channel the broker closed
// is reopened on the connection's next use). Same threading rules as Connection.

#include <cstdint>
#include <optional>
#include <string>

#include "common/amqp/connection.hpp"

namespace paynotify::amqp {

struct ExchangeSpec {
  std::string name{};
  std::string type = "fanout";
  bool durable = true;
  bool auto_delete = false;
};

/// A queue and its x-arguments. Unset optionals are not sent. `queue_type` ("classic" or
/// "quorum") is always sent as x-queue-type; an empty string leaves it out.
struct QueueSpec {
  std::string name{};
  bool durable = true;
  std::string queue_type = "classic";
  std::optional<std::string> dead_letter_exchange{};     // x-dead-letter-exchange
  std::optional<std::string> dead_letter_routing_key{};  // x-dead-letter-routing-key
  std::optional<int64_t> message_ttl_ms{};               // x-message-ttl
  std::optional<int64_t> max_length{};                   // x-max-length
  std::optional<std::string> overflow{};  // x-overflow: drop-head | reject-publish | reject-publish-dlx
  std::optional<int64_t> delivery_limit{};               // x-delivery-limit (quorum queues)
  std::optional<std::string> dead_letter_strategy{};     // x-dead-letter-strategy: at-most-once | at-least-once (quorum)
};

/// exchange.declare. Throws TopologyMismatch (e.g. argument "type" or "durable"),
/// ChannelClosed (403 access refused) or a connection-level AmqpError.
void DeclareExchange(Connection& connection, const ExchangeSpec& spec);
/// queue.declare with the spec's arguments. Throws TopologyMismatch naming the differing
/// argument ("x-message-ttl", "x-queue-type", "durable", ...), ChannelClosed, AmqpError.
void DeclareQueue(Connection& connection, const QueueSpec& spec);
/// queue.bind. Throws ChannelClosed 404 when the queue or exchange does not exist.
void BindQueue(Connection& connection, const std::string& queue, const std::string& exchange,
               const std::string& routing_key = "");
/// queue.delete (unconditionally; deleting a missing queue is not an error). Returns the
/// number of messages deleted with it.
uint32_t DeleteQueue(Connection& connection, const std::string& queue);
/// exchange.delete (unconditionally; a missing exchange is not an error).
void DeleteExchange(Connection& connection, const std::string& exchange);
/// Ready messages in the queue (passive declare; unacked ones are not counted). Throws
/// ChannelClosed 404 when the queue does not exist.
uint32_t MessageCount(Connection& connection, const std::string& queue);
/// Consumers on the queue (passive declare). Throws ChannelClosed 404 when missing.
uint32_t ConsumerCount(Connection& connection, const std::string& queue);

}  // namespace paynotify::amqp

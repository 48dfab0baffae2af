#pragma once
// Plain message value types. No rabbitmq-c here: core code may use these freely.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace paynotify::amqp {

/// A header value. Received headers of other AMQP types are converted: every integer kind
/// and timestamps -> int64_t (an unsigned 64-bit value above INT64_MAX -> its decimal text),
/// float/decimal -> double, byte arrays -> std::string, nested tables and arrays (e.g.
/// RabbitMQ's x-death) -> their JSON text, cut at 4 KiB (kMaxHeaderJson); void (null)
/// headers are left out. Received values are the sender's bytes: not necessarily UTF-8.
using HeaderValue = std::variant<std::string, int64_t, bool, double>;
using Headers = std::map<std::string, HeaderValue>;

/// One message to publish. `mandatory` asks the broker to return it when no queue takes it
/// (outcome kReturned); `persistent` sets delivery_mode 2. Empty strings and nullopt leave
/// the property out.
struct OutgoingMessage {
  std::string exchange{};
  std::string routing_key{};
  std::string body{};
  std::string message_id{};
  std::string content_type = "application/json";
  std::string content_encoding{};
  std::string type{};
  std::string app_id{};
  std::optional<int64_t> timestamp_s{};
  bool persistent = true;
  bool mandatory = true;
  Headers headers{};
};

/// The result of publishing one message with confirms.
enum class PublishOutcome {
  kConfirmed,  // basic.ack: the broker took responsibility (queued, persisted if durable)
  kNacked,     // basic.nack: the broker refused it (e.g. x-overflow reject-publish)
  kReturned,   // basic.return: mandatory and no queue bound; then acked, but NOT delivered
  kUnknown,    // connection/channel lost or timed out before the confirm: may or may not
               // have been delivered; publish again (consumers must de-duplicate)
};

/// "confirmed", "nacked", "returned", "unknown" (for logs and metrics labels).
constexpr const char* ToString(PublishOutcome outcome) {
  switch (outcome) {
    case PublishOutcome::kConfirmed: return "confirmed";
    case PublishOutcome::kNacked: return "nacked";
    case PublishOutcome::kReturned: return "returned";
    case PublishOutcome::kUnknown: return "unknown";
  }
  return "unknown";
}

/// One received message. `delivery_tag` is opaque: pass it back to the Consumer that
/// produced it (it also identifies the connection, so a tag from a lost connection is never
/// applied to a message of the next one). Absent properties are nullopt.
struct Delivery {
  uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::string exchange{};
  std::string routing_key{};
  std::string body{};
  std::optional<std::string> message_id{};
  std::optional<std::string> content_type{};
  std::optional<std::string> content_encoding{};
  std::optional<std::string> type{};
  std::optional<std::string> app_id{};
  std::optional<int64_t> timestamp_s{};
  std::optional<uint8_t> delivery_mode;  // 2 = persistent
  Headers headers{};
};

}  // namespace paynotify::amqp

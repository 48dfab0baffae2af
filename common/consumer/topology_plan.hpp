#pragma once
/// The consumer's queues and the copies it publishes to them, as plain data: which queues
/// exist (main, one delayed-retry queue per back-off step, parking queue), with which
/// arguments, and how a retry or dead-letter copy of a delivery looks. The AMQP adapter
/// declares and publishes exactly this; unit tests check it without a broker.
///
/// Retry path: a message that failed attempt n is published (default exchange) to
/// `<queue>.retry.<n>`, whose x-message-ttl is DelayForAttempt(n) and whose dead-letter
/// target is the default exchange with routing key `<queue>`. When the TTL expires the broker
/// moves it back to the main queue (and only there: the fanout exchange is bypassed, so other
/// subscribers never see a retry).
///
/// Quorum mode (queue_type "quorum", for a cluster): every queue is a quorum queue, and the
/// ones the broker itself moves messages out of get at-least-once dead-lettering:
///  - main queue: x-delivery-limit = delivery_limit, dead-lettered ("" -> `<dead_letter_queue>`)
///    once a message was delivered more often than that without an ack (a message that
///    crashes the consumer every time, or is requeued forever), so it is parked instead of
///    redelivered for ever;
///  - retry queues: the same TTL and dead-letter target as in classic mode;
///  - both: x-dead-letter-strategy at-least-once (the broker keeps the message in the source
///    queue until the target queue confirmed it, so dead-lettering cannot lose it) and
///    x-overflow reject-publish (which at-least-once requires; without a length limit it
///    never rejects anything);
///  - parking queue: a plain quorum queue (no delivery limit: browsing it with paynotifyctl
///    returns the kept messages, which counts as a delivery).
/// Classic mode declares exactly what it always did (none of these arguments).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/amqp/message.hpp"
#include "common/consumer/disposition.hpp"
#include "common/consumer/headers.hpp"
#include "common/consumer/retry_policy.hpp"

namespace paynotify::consumer {

struct QueuePlan {
  std::string name;
  std::string queue_type = "classic";  ///< classic | quorum
  std::optional<int64_t> message_ttl_ms;
  std::optional<std::string> dead_letter_exchange;
  std::optional<std::string> dead_letter_routing_key;
  std::optional<int64_t> delivery_limit;             ///< x-delivery-limit (quorum main queue)
  std::optional<std::string> dead_letter_strategy;   ///< x-dead-letter-strategy (quorum)
  std::optional<std::string> overflow;               ///< x-overflow (quorum: reject-publish)
  bool bind_to_exchange = false;  ///< only the main queue is bound to the fanout exchange
};

/// The broker's dead-letter reason (x-death / x-first-death-reason) of a message the main
/// quorum queue dead-lettered because of its delivery limit.
inline constexpr std::string_view kDeliveryLimitReason = "delivery_limit";
/// consumer.delivery-limit's default: high enough that deliveries returned by reconnects
/// (failover, restarts: every unacked delivery of a lost connection counts once) do not park
/// healthy messages, low enough that a poison message stops within minutes.
inline constexpr int kDefaultDeliveryLimit = 20;

struct ConsumerTopology {
  std::string exchange;                 ///< fanout exchange the messages arrive on
  std::string queue;                    ///< main queue, e.g. <service>.paynotify
  std::string queue_type = "classic";   ///< applies to every queue we declare
  std::string dead_letter_queue;        ///< parking queue, e.g. <queue>.dlq
  RetryPolicy retry;
  /// Quorum mode only: x-delivery-limit of the main queue (see the header comment).
  int delivery_limit = kDefaultDeliveryLimit;

  bool IsQuorum() const { return queue_type == "quorum"; }

  /// `<queue>.retry.<failed_attempt>`.
  std::string RetryQueue(int failed_attempt) const;
  /// Main queue, retry queues 1..max_attempts-1, parking queue (in declaration order).
  std::vector<QueuePlan> Queues() const;
};

/// Copies are amqp::OutgoingMessage published through the default exchange ("") with
/// `routing_key` = a queue name, persistent and mandatory (an unroutable copy is "returned",
/// i.e. not safe to ack on). Properties the delivery did not carry stay empty (absent).

/// What every copy carries: the body and the properties (message_id kept, so the dedup key is
/// unchanged; all are AMQP short strings), and of the headers ONLY our own:
/// x-paynotify-original-exchange/-queue kept from the first delivery, and
/// x-paynotify-original-headers, a summary of the first delivery's other headers (names,
/// types and the start of each value, about 1 KiB at most; the broker's x-death bookkeeping
/// left out). The original's headers themselves are never copied: a table that fits the
/// original's frame need not fit the copy's, and a copy that cannot be published would hold
/// the message forever. So a copy's headers stay a few KiB, whatever the original carried.
/// Our own headers from the delivery are kept only if they look like ours (strings of valid
/// UTF-8 and sensible length); anything else a producer put there is replaced.

/// Copy of `delivery` for `retry` (a kRetry disposition), see above, with
/// x-paynotify-attempt = retry.attempt and x-paynotify-last-error = retry.text (cut to 1000
/// bytes); routed to RetryQueue(retry.attempt - 1).
amqp::OutgoingMessage MakeRetryCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology,
                                    const Disposition& retry);

/// Copy of `delivery` for the parking queue, see above, with x-paynotify-reason, -error (cut
/// to 1000 bytes), -attempts, -failed-at (ISO-8601 UTC, from `failed_at`) and the
/// -last-error of the previous attempt if there was one.
amqp::OutgoingMessage MakeDeadLetterCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology,
                                const Disposition& dead_letter,
                                std::chrono::system_clock::time_point failed_at);

/// The last resort when even that copy is not confirmed: the body, the message_id (the
/// dedup key, so that replaying the parked message can never apply it twice) and
/// x-paynotify-reason; nothing else that the message could have made unpublishable.
amqp::OutgoingMessage MakeMinimalDeadLetterCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology,
                                       const Disposition& dead_letter);

/// "2024-01-01T10:00:00.123Z".
std::string Iso8601Utc(std::chrono::system_clock::time_point t);

}  // namespace paynotify::consumer

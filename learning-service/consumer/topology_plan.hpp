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
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "learning-service/consumer/delivery.hpp"
#include "learning-service/consumer/disposition.hpp"
#include "learning-service/consumer/retry_policy.hpp"

namespace paynotify::learning {

struct QueuePlan {
  std::string name;
  std::string queue_type = "classic";  ///< classic | quorum
  std::optional<int64_t> message_ttl_ms;
  std::optional<std::string> dead_letter_exchange;
  std::optional<std::string> dead_letter_routing_key;
  bool bind_to_exchange = false;  ///< only the main queue is bound to the fanout exchange
};

struct ConsumerTopology {
  std::string exchange;                 ///< fanout exchange the payment results arrive on
  std::string queue;                    ///< main queue, e.g. learning.paynotify
  std::string queue_type = "classic";   ///< applies to every queue we declare
  std::string dead_letter_queue;        ///< parking queue, e.g. learning.paynotify.dlq
  RetryPolicy retry;

  /// `<queue>.retry.<failed_attempt>`.
  std::string RetryQueue(int failed_attempt) const;
  /// Main queue, retry queues 1..max_attempts-1, parking queue (in declaration order).
  std::vector<QueuePlan> Queues() const;
};

/// A message to publish through the default exchange ("") with `routing_key` = a queue name,
/// persistent and mandatory (an unroutable copy is "returned", i.e. not safe to ack on).
struct OutgoingCopy {
  std::string routing_key;
  std::string body;
  std::optional<std::string> message_id;
  std::optional<std::string> content_type;
  std::optional<std::string> type;
  std::optional<std::string> app_id;
  std::optional<int64_t> timestamp_s;
  Headers headers;
};

/// Copy of `delivery` for `retry` (a kRetry disposition): same body and properties
/// (message_id kept, so the dedup key is unchanged), x-paynotify-attempt = retry.attempt,
/// x-paynotify-last-error = retry.text, x-paynotify-original-exchange/-queue kept from the
/// first delivery; routed to RetryQueue(retry.attempt - 1).
OutgoingCopy MakeRetryCopy(const Delivery& delivery, const ConsumerTopology& topology, const Disposition& retry);

/// Copy of `delivery` for the parking queue with x-paynotify-reason, -error, -attempts,
/// -original-exchange, -original-queue and -failed-at (ISO-8601 UTC, from `failed_at`).
OutgoingCopy MakeDeadLetterCopy(const Delivery& delivery, const ConsumerTopology& topology,
                                const Disposition& dead_letter,
                                std::chrono::system_clock::time_point failed_at);

/// "2024-01-01T10:00:00.123Z".
std::string Iso8601Utc(std::chrono::system_clock::time_point t);

}  // namespace paynotify::learning

#pragma once
/// The consumer's own message headers (x-paynotify-*), which carry a message's history across
/// retry hops and into the parking queue, and AttemptOf, which reads the attempt count back.
/// Pure: deliveries are amqp::Delivery (common/amqp/message.hpp, no rabbitmq-c).
#include "common/amqp/message.hpp"

namespace paynotify::consumer {

/// Header carrying the attempt number of this delivery (absent on the first attempt = 1).
inline constexpr const char* kAttemptHeader = "x-paynotify-attempt";
inline constexpr const char* kLastErrorHeader = "x-paynotify-last-error";
inline constexpr const char* kReasonHeader = "x-paynotify-reason";
inline constexpr const char* kErrorHeader = "x-paynotify-error";
inline constexpr const char* kAttemptsHeader = "x-paynotify-attempts";
inline constexpr const char* kOriginalExchangeHeader = "x-paynotify-original-exchange";
inline constexpr const char* kOriginalQueueHeader = "x-paynotify-original-queue";
inline constexpr const char* kFailedAtHeader = "x-paynotify-failed-at";
/// How many times an operator has replayed this message from the parking queue
/// (`paynotifyctl dlq replay`): an integer >= 1, carried over by every later retry and
/// dead-letter copy, so a message parked again still says it was replayed.
inline constexpr const char* kReplayedHeader = "x-paynotify-replayed";
/// Retry and dead-letter copies carry our own headers only; this one holds a short summary
/// of the headers the first delivery came with (names, types, the start of short values).
inline constexpr const char* kOriginalHeadersHeader = "x-paynotify-original-headers";

/// The attempt this delivery represents: the x-paynotify-attempt header (integer, or a
/// string of digits from a foreign producer), 1 when absent or unreadable, never below 1,
/// never above 1,000,000 (whatever a producer wrote there).
int AttemptOf(const amqp::Delivery& delivery);

}  // namespace paynotify::consumer

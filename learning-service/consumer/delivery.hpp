#pragma once
/// The learning consumer's view of one AMQP delivery: a plain value type, so the decision
/// core (handler, retry policy, consumer loop) never sees rabbitmq-c. The AMQP adapter
/// converts amqp::Delivery into this; tests build it by hand.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace paynotify::learning {

/// Header values we read or write. Table/array headers (e.g. the broker's x-death) arrive as
/// their (bounded) JSON text; we never copy them: we keep our own attempt count.
using HeaderValue = std::variant<std::string, int64_t, bool, double>;
using Headers = std::map<std::string, HeaderValue>;

/// Header carrying the attempt number of this delivery (absent on the first attempt = 1).
inline constexpr const char* kAttemptHeader = "x-paynotify-attempt";
inline constexpr const char* kLastErrorHeader = "x-paynotify-last-error";
inline constexpr const char* kReasonHeader = "x-paynotify-reason";
inline constexpr const char* kErrorHeader = "x-paynotify-error";
inline constexpr const char* kAttemptsHeader = "x-paynotify-attempts";
inline constexpr const char* kOriginalExchangeHeader = "x-paynotify-original-exchange";
inline constexpr const char* kOriginalQueueHeader = "x-paynotify-original-queue";
inline constexpr const char* kFailedAtHeader = "x-paynotify-failed-at";
/// Retry and dead-letter copies carry our own headers only; this one holds a short summary
/// of the headers the first delivery came with (names, types, the start of short values).
inline constexpr const char* kOriginalHeadersHeader = "x-paynotify-original-headers";

struct Delivery {
  uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::string exchange;
  std::string routing_key;
  std::string body;
  std::optional<std::string> message_id;
  std::optional<std::string> content_type;
  std::optional<std::string> content_encoding;
  std::optional<std::string> type;
  std::optional<std::string> app_id;
  std::optional<int64_t> timestamp_s;
  Headers headers;
};

/// The attempt this delivery represents: the x-paynotify-attempt header (integer, or a
/// string of digits from a foreign producer), 1 when absent or unreadable, never below 1,
/// never above 1,000,000 (whatever a producer wrote there).
int AttemptOf(const Delivery& delivery);

}  // namespace paynotify::learning

#pragma once
/// The payment-result message: the one thing order-service and learning-service agree on
/// over the wire (issue 2 section 4). The body is the Java platform's MqMessage in camelCase
/// JSON, so Java producers and consumers interoperate with ours in both directions.
///
/// Everything here is pure and thread-safe (no shared state).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paynotify::messages {

/// Durable fanout exchange the payment result is published to (routing key "").
inline constexpr std::string_view kExchange = "paynotify_exchange_fanout";
/// MqMessage.messageType and the AMQP `type` property of a payment result.
inline constexpr std::string_view kPaymentResultType = "payresult_notify";
/// AMQP content_type we publish with. Readers accept any content type.
inline constexpr std::string_view kContentType = "application/json";
/// AMQP app_id of messages published by order-service.
inline constexpr std::string_view kAppIdOrderService = "order-service";

/// The Java platform's MqMessage. For a payment result: business_key1 = course-selection id,
/// business_key2 = order type (e.g. "60201"), business_key3 unused (null).
struct MqMessage {
  int64_t id = 0;  ///< the outbox row id (mq_message.id)
  std::string message_type;
  std::optional<std::string> business_key1;
  std::optional<std::string> business_key2;
  std::optional<std::string> business_key3;

  friend bool operator==(const MqMessage&, const MqMessage&) = default;
};

/// {"id":N,"messageType":"...","businessKey1":"...","businessKey2":"...","businessKey3":null}
/// Absent keys are written as null (all five fields are always present), ids as JSON numbers.
/// Throws std::invalid_argument naming the field if a string is not valid UTF-8 (the body
/// must be UTF-8 JSON; silently replacing bytes would change a business key).
std::string EncodeMqMessage(const MqMessage& message);

/// Deepest nesting of arrays/objects a body may have (ours is flat; Java's is too). Checked
/// before parsing, so a hostile body of a million '[' costs one linear scan.
inline constexpr size_t kMaxNestingDepth = 64;
/// Most errors a DecodeResult lists; one more entry then says how many were left out.
inline constexpr size_t kMaxDecodeErrors = 8;

/// Outcome of decoding a body: `message` is set exactly when `errors` is empty.
/// Each error starts with the field it concerns ("id: ...", "businessKey1: ...") or
/// "body: " for the document as a whole. At most kMaxDecodeErrors problems are listed, in the
/// order found; if there were more, a last entry "(N more problems not listed...)" counts
/// them. Every entry is short (member names and quoted values are cut to a few dozen bytes),
/// so the whole list stays under a few KiB whatever the body.
struct DecodeResult {
  std::optional<MqMessage> message;
  std::vector<std::string> errors;
};

/// Tolerant reader for MqMessage bodies from us or the Java platform:
///  - unknown fields are ignored; omitted or null business keys are nullopt;
///  - id is a JSON integer or a string of decimal digits (how Java Longs are sometimes written);
///  - business keys are strings, or numbers (stored as their decimal text: 60201 -> "60201");
///  - messageType must be a non-empty string.
/// Problems reported: invalid UTF-8 (the first bad byte's offset, and where it lies in a
/// top-level member the member; for a body that is no JSON at all, how many bad bytes in
/// all), invalid JSON (with the parser's byte position), nesting deeper than
/// kMaxNestingDepth, a document that is not an object, one of our fields given more than
/// once (JSON parsers disagree on which one wins) or holding a NUL character (\u0000: text
/// stores would cut it), and each field that is missing or of the wrong type. Never throws for bad input. Linear in the body's size: size limits belong to
/// the caller (the consumer refuses oversized bodies before decoding).
DecodeResult DecodeMqMessage(std::string_view body);

/// The key the consumer's inbox deduplicates on: the AMQP message_id when present and
/// non-empty (our publisher sets the outbox row's uuid), otherwise messageType + ":" + id for
/// Java-platform messages that carry no message_id (e.g. "payresult_notify:42").
std::string DedupKey(const std::optional<std::string>& amqp_message_id, const MqMessage& message);

}  // namespace paynotify::messages

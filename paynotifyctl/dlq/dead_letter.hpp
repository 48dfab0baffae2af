#pragma once
/// The dead-letter policy of `paynotifyctl dlq`, as pure functions over amqp::Delivery values
/// (no rabbitmq-c): what a parked copy says about itself (the x-paynotify-* headers
/// common/consumer's MakeDeadLetterCopy writes, and the payment-result body), which parked
/// messages a command selects, and the message a replay sends back to the main queue.
///
/// Everything read from a parked message is untrusted bytes: values are kept raw here and
/// escaped where they are printed (ctl::Table, text::Printable); every copy is bounded.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/amqp/message.hpp"

namespace paynotify::ctl::dlq {

/// Bytes of the body a listing keeps (the start of it, raw; escaped when printed).
inline constexpr size_t kBodyPreviewBytes = 64;
/// Longest header value a summary keeps (reason, error, failed-at): the consumer writes
/// errors of at most 1000 bytes; a forged header is cut.
inline constexpr size_t kMaxHeaderText = 1024;
/// Bodies longer than this are not decoded for businessKey1/2 (the listing says so).
inline constexpr size_t kMaxDecodeBytes = 1024 * 1024;
/// businessKey1/2 longer than this (their columns are varchar(64)) are cut, with "...".
inline constexpr size_t kMaxBusinessKeyBytes = 64;

/// What `dlq list` shows of one parked message. Absent header or field: nullopt.
struct DeadLetterSummary {
  uint64_t position = 0;  ///< 0-based position in the parking queue
  std::optional<std::string> message_id;
  std::optional<std::string> reason;     ///< ParkingReason()
  std::optional<std::string> error;      ///< x-paynotify-error
  std::optional<int64_t> attempts;       ///< x-paynotify-attempts
  std::optional<std::string> failed_at;  ///< x-paynotify-failed-at (ISO-8601 UTC)
  int64_t replayed = 0;                  ///< x-paynotify-replayed (0: never replayed)
  std::optional<std::string> business_key1;
  std::optional<std::string> business_key2;
  /// Why businessKey1/2 are unknown: the body's first decode error, or "body too large to
  /// decode"; nullopt when the body decoded.
  std::optional<std::string> body_problem;
  size_t body_size = 0;
  std::string body_start;  ///< the first kBodyPreviewBytes bytes, raw
};

/// Summarises one parked delivery. Never throws for any content.
DeadLetterSummary Summarize(const amqp::Delivery& parked, uint64_t position);

/// A string header, cut to kMaxHeaderText bytes; nullopt when absent. An integer or other
/// value is given as its text (a foreign producer's choice of type is not an error here).
std::optional<std::string> HeaderText(const amqp::Headers& headers, const std::string& name);
/// Why the message is parked: x-paynotify-reason when our consumer parked it; else, for a
/// message the broker dead-lettered itself (a quorum queue's x-delivery-limit: reason
/// "delivery_limit"), the reason of the broker's latest x-death entry (x-first-death-reason
/// when x-death cannot be read); nullopt when neither says. Raw bytes, at most kMaxHeaderText.
std::optional<std::string> ParkingReason(const amqp::Headers& headers);

/// An integer header (or a string of decimal digits); nullopt when absent or not a number.
std::optional<int64_t> HeaderInt(const amqp::Headers& headers, const std::string& name);

/// Which parked messages a replay or discard acts on: those whose message_id is one of
/// `message_ids` (every copy with that id), or whose reason (ParkingReason) is `reason`, or all
/// of them.
/// Exactly one of the three is set; Parse* check that.
struct Selection {
  std::set<std::string> message_ids{};
  std::optional<std::string> reason{};
  bool all = false;

  bool Selects(const amqp::Delivery& parked) const;
};

/// Parked message -> the message `dlq replay` publishes, and why:
///  - to the MAIN queue through the default exchange (routing key = `main_queue`), so only
///    our consumer gets it again: the fanout exchange's other subscribers already had theirs;
///  - persistent, mandatory (a missing main queue is a failure, not a silent drop);
///  - the same body, message_id (the inbox's dedup key: a message applied in the meantime is
///    absorbed as a duplicate) and properties (content type/encoding, type, app_id,
///    timestamp);
///  - headers: the parked copy's, without the parking record (x-paynotify-reason, -error,
///    -attempts, -failed-at) and the broker's bookkeeping (x-death..., x-delivery-count);
///    x-paynotify-attempt is
///    removed, so the message is on attempt 1 with the full retry budget again: a replay
///    follows a fix (the selection now exists, the database is back), and a message that
///    arrived with one attempt left would be parked again by the first transient glitch;
///    x-paynotify-last-error says why it was parked ("replay N after <reason>: <error>", with
///    ParkingReason, so a broker-parked message says "replay 1 after delivery_limit",
///    cut to 1000 bytes), so if it is parked again the new copy still tells the story;
///    x-paynotify-replayed = previous count + 1. Nested header values arrive as JSON text
///    (see amqp::HeaderValue) and go out as that text.
amqp::OutgoingMessage MakeReplay(const amqp::Delivery& parked, const std::string& main_queue);

/// Reasons counted by `dlq stats`: at most this many distinct ones, then kOtherReasons.
inline constexpr size_t kMaxDistinctReasons = 64;
inline constexpr const char* kOtherReasons = "(other)";
inline constexpr const char* kNoReason = "(none)";

/// Counts per reason, bounded (a forged queue cannot grow the map without end); reasons cut
/// to 128 bytes.
class ReasonCounts {
 public:
  void Add(const std::optional<std::string>& reason);
  const std::map<std::string, uint64_t>& Counts() const { return counts_; }
  uint64_t Total() const { return total_; }

 private:
  std::map<std::string, uint64_t> counts_;
  uint64_t total_ = 0;
};

}  // namespace paynotify::ctl::dlq

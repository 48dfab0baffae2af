#pragma once
/// What the consumer must do with one delivery: the decision core's only output.
#include <chrono>
#include <string>
#include <string_view>

namespace paynotify::learning {

/// Every reason a message is dead-lettered for: the x-paynotify-reason header of the parked
/// copy and the `reason` label of paynotify_learning_dead_lettered_total. A fixed set, so no
/// message can make up a label value.
namespace reason {
inline constexpr std::string_view kMalformedJson = "malformed-json";        ///< not JSON, not an object, too deep
inline constexpr std::string_view kInvalidMessage = "invalid-message";      ///< a field or property unusable
inline constexpr std::string_view kTooLarge = "too-large";                  ///< body over rabbitmq.listener.max-body-bytes
inline constexpr std::string_view kUnsupportedEncoding = "unsupported-encoding";  ///< e.g. gzip: we read plain JSON
inline constexpr std::string_view kMissingBusinessKey1 = "missing-business-key1";
inline constexpr std::string_view kNonNumericBusinessKey1 = "non-numeric-business-key1";
inline constexpr std::string_view kSelectionMissing = "selection-missing";
inline constexpr std::string_view kRetriesExhausted = "retries-exhausted";
inline constexpr std::string_view kApplyFailed = "apply-failed";
}  // namespace reason

inline constexpr std::string_view kDeadLetterReasons[] = {
    reason::kMalformedJson,        reason::kInvalidMessage,    reason::kTooLarge,
    reason::kUnsupportedEncoding,  reason::kMissingBusinessKey1, reason::kNonNumericBusinessKey1,
    reason::kSelectionMissing,     reason::kRetriesExhausted,  reason::kApplyFailed};

struct Disposition {
  enum class Kind {
    /// Done (applied, duplicate or ignored): ack it.
    kAck,
    /// Try again later: publish a copy to the retry queue for `attempt - 1` (TTL = delay),
    /// carrying x-paynotify-attempt = `attempt`; ack the original once the copy is confirmed.
    kRetry,
    /// Never applicable: publish a copy with `reason` and `text` to the parking queue;
    /// ack the original once the copy is confirmed.
    kDeadLetter,
    /// The database itself is unreachable. Keep this delivery unsettled, consume nothing
    /// else, and hand the same delivery to the handler again after `delay`. No attempt is
    /// used up: an outage is not the message's fault (see EnrollmentHandler).
    kPause,
  };

  Kind kind = Kind::kAck;
  std::chrono::milliseconds delay{0};  ///< kRetry: the back-off step; kPause: wait before retrying
  int attempt = 0;                     ///< kRetry: the next attempt number; kDeadLetter: attempts made
  std::string reason;                  ///< kDeadLetter: machine-readable reason ("malformed-json", ...)
  std::string text;                    ///< kRetry/kDeadLetter/kPause: the error, for headers and logs

  static Disposition Ack() { return {}; }
  static Disposition Retry(std::chrono::milliseconds delay, int next_attempt, std::string error) {
    return {Kind::kRetry, delay, next_attempt, {}, std::move(error)};
  }
  static Disposition DeadLetter(std::string reason, std::string text, int attempts) {
    return {Kind::kDeadLetter, std::chrono::milliseconds{0}, attempts, std::move(reason), std::move(text)};
  }
  static Disposition Pause(std::chrono::milliseconds delay, std::string error) {
    return {Kind::kPause, delay, 0, {}, std::move(error)};
  }
};

std::string_view KindName(Disposition::Kind kind);

}  // namespace paynotify::learning

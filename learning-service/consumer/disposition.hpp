#pragma once
/// What the consumer must do with one delivery: the decision core's only output.
#include <chrono>
#include <string>

namespace paynotify::learning {

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

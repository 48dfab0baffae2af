#pragma once
/// What the consumer loop must do with one delivery: a handler's only output.
#include <chrono>
#include <string>
#include <string_view>

namespace paynotify::consumer {

/// Dead-letter reasons the mechanism itself gives (a handler adds its own, see
/// DeliveryHandler::DeadLetterReasons).
namespace reason {
/// Every attempt the retry policy allows failed (see RetryOrDeadLetter).
inline constexpr std::string_view kRetriesExhausted = "retries-exhausted";
}  // namespace reason

struct Disposition {
  enum class Kind {
    /// Done (e.g. applied, a duplicate, or not for us): ack it.
    kAck,
    /// Try again later: publish a copy to the retry queue for `attempt - 1` (TTL = delay),
    /// carrying x-paynotify-attempt = `attempt`; ack the original once the copy is confirmed.
    kRetry,
    /// Never applicable: publish a copy with `reason` and `text` to the parking queue;
    /// ack the original once the copy is confirmed.
    kDeadLetter,
    /// Something the handler depends on (e.g. its database) is unreachable: not the
    /// message's fault. Keep this delivery unsettled, consume nothing else, and hand the same
    /// delivery to the handler again after `delay`. No attempt is used up.
    kPause,
  };

  Kind kind = Kind::kAck;
  std::chrono::milliseconds delay{0};  ///< kRetry: the back-off step; kPause: wait before retrying
  int attempt = 0;                     ///< kRetry: the next attempt number; kDeadLetter: attempts made
  std::string reason;                  ///< kDeadLetter: machine-readable, one of the handler's declared reasons
  std::string text;                    ///< kRetry/kDeadLetter/kPause: the error, for headers and logs
  /// How log lines name the message (e.g. its dedup key); empty: by its message_id property.
  /// May come from the message: the loop logs it escaped and cut short.
  std::string key;
  /// kAck: what was done, one word for the debug log ("applied", "duplicate", ...).
  std::string outcome;

  static Disposition Ack() { return {}; }
  static Disposition Retry(std::chrono::milliseconds delay, int next_attempt, std::string error) {
    return {Kind::kRetry, delay, next_attempt, {}, std::move(error), {}, {}};
  }
  static Disposition DeadLetter(std::string reason, std::string text, int attempts) {
    return {Kind::kDeadLetter, std::chrono::milliseconds{0}, attempts, std::move(reason), std::move(text), {}, {}};
  }
  static Disposition Pause(std::chrono::milliseconds delay, std::string error) {
    return {Kind::kPause, delay, 0, {}, std::move(error), {}, {}};
  }
};

}  // namespace paynotify::consumer

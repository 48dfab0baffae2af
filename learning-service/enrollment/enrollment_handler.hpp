#pragma once
/// The decision core of learning-service: deliveries in, one Disposition per delivery out. It
/// implements the consumer loop's DeliveryHandler (common/consumer): the loop is the
/// mechanism, this is learning's policy.
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/amqp/message.hpp"
#include "common/consumer/delivery_handler.hpp"
#include "common/consumer/disposition.hpp"
#include "common/consumer/retry_policy.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/enrollment/dead_letter_reasons.hpp"
#include "learning-service/enrollment/enrollment_metrics.hpp"
#include "learning-service/enrollment/enrollment_repository.hpp"

namespace paynotify::learning {

// The loop's vocabulary, which learning's policy speaks throughout.
using consumer::Disposition;
using consumer::RetryPolicy;

/// Order type of a course purchase (xc_orders.order_type); 60202 (materials) is ignored.
inline constexpr std::string_view kCourseOrderType = "60201";

/// Default of rabbitmq.listener.max-body-bytes: our bodies are ~150 bytes, the Java
/// platform's a few hundred.
inline constexpr size_t kDefaultMaxBodyBytes = 256 * 1024;

enum class Outcome { kApplied, kDuplicate, kIgnored, kRetry, kDeadLetter, kPaused };
std::string_view OutcomeName(Outcome outcome);

/// A decision with its domain outcome: what tests and EnrollmentMetrics read. The loop gets
/// `disposition` only (with key = dedup_key and outcome = OutcomeName(outcome)).
struct HandleResult {
  Disposition disposition;
  Outcome outcome = Outcome::kIgnored;
  std::string dedup_key;                            ///< empty when the body could not be parsed
  std::optional<std::chrono::duration<double>> apply_duration;  ///< time in the repository (a batch's: its share per message)
  std::optional<std::chrono::duration<double>> since_published;  ///< message timestamp -> applied (kApplied with a timestamp)
};

/// Decides what happens to one delivery (dead-letter reasons: see learning::reason, all
/// declared to the loop through DeadLetterReasons()):
///  - body longer than `max_body_bytes` -> dead-letter "too-large", before any decoding;
///  - a message_id property that is not valid UTF-8 or holds a NUL (it is the dedup key,
///    stored as text) -> dead-letter "invalid-message";
///  - malformed body -> dead-letter "malformed-json" (not JSON / not an object / too deep) or
///    "invalid-message" (a field missing, repeated or of the wrong type), text = the errors
///    found (bounded, see messages::DecodeResult); "unsupported-encoding" instead when the
///    content_encoding property names a compression (we never inflate bodies);
///  - messageType != payresult_notify, or businessKey2 != 60201 -> ack, ignored;
///  - businessKey1 missing -> dead-letter "missing-business-key1"; not a positive integer ->
///    "non-numeric-business-key1";
///  - otherwise Apply: kApplied/kDuplicate -> ack; kSelectionMissing -> retry while attempts
///    remain, then dead-letter "selection-missing";
///  - RepositoryError kTransient (and any unexpected exception) -> retry while attempts
///    remain, then dead-letter "retries-exhausted"; kPermanent -> dead-letter "apply-failed";
///  - RepositoryError kUnavailable -> kPause with a capped back-off delay;
///  - an exception while deciding (out of memory: decoding never throws for bad input) ->
///    retry while attempts remain, then "retries-exhausted". Handle never throws.
///
/// Error texts quote message content only cut short and escaped (text::Printable).
///
/// Why pause instead of using up attempts when the database is down: an outage is not a
/// property of the message. Burning the retry budget (1+2+4+8 s by default) would park every
/// message that arrives during any outage longer than that, and parked messages need an
/// operator to replay them. Holding the one in-flight delivery unacked keeps everything in
/// the broker (prefetch bounds what is held), a crash simply redelivers it, and consumption
/// resumes by itself when the database is back. Per-message transient failures (deadlock,
/// serialization) still go through the retry queues so one message never blocks the others.
///
/// Decide/DecideBatch (the loop's interface) are Handle/HandleBatch plus counting the outcome
/// in EnrollmentMetrics. Not thread-safe (one per consumer thread): it keeps the pause
/// back-off state.
class EnrollmentHandler final : public consumer::DeliveryHandler {
 public:
  EnrollmentHandler(EnrollmentRepository& repository, EnrollmentMetrics& metrics, RetryPolicy retry,
                    runtime::BackoffPolicy pause, const runtime::Clock& clock,
                    size_t max_body_bytes = kDefaultMaxBodyBytes);

  /// Bodies longer than this are dead-lettered "too-large" without being decoded.
  size_t MaxBodyBytes() const override { return max_body_bytes_; }
  std::span<const std::string_view> DeadLetterReasons() const override { return reason::kAll; }

  Disposition Decide(const amqp::Delivery& delivery) override;
  std::optional<std::vector<Disposition>> DecideBatch(std::span<const amqp::Delivery> deliveries,
                                                      std::string& failure) override;

  /// The decision for one delivery, not counted.
  HandleResult Handle(const amqp::Delivery& delivery);

  /// Handles several deliveries with ONE repository transaction (ApplyBatch) for all that
  /// need applying; the others are decided as Handle decides them. Returns one result per
  /// delivery, in order - never kPause - or nullopt when the batch transaction failed
  /// (`failure`, if given, receives why): nothing of it was committed, and the caller hands
  /// each delivery to Handle, which tells which message failed and how (retry, dead-letter,
  /// or a pause for a database outage). A failed batch therefore costs one rollback and
  /// never changes any message's disposition.
  std::optional<std::vector<HandleResult>> HandleBatch(std::span<const amqp::Delivery> deliveries,
                                                       std::string* failure = nullptr);

 private:
  /// Either the final result (malformed, ignored, bad businessKey1) or what to apply.
  using Decision = std::variant<HandleResult, PaymentApplication>;
  Decision Classify(const amqp::Delivery& delivery) const;
  Decision ClassifyOrThrow(const amqp::Delivery& delivery) const;
  /// The result of a delivery whose application the repository answered with `applied`.
  HandleResult Interpret(const amqp::Delivery& delivery, const PaymentApplication& application,
                         ApplyResult applied) const;
  HandleResult RetryOrDeadLetter(int attempt, std::string_view exhausted_reason, std::string error) const;
  /// Counts `result` and hands the loop its disposition.
  Disposition Counted(HandleResult result);

  EnrollmentRepository& repository_;
  EnrollmentMetrics& metrics_;
  RetryPolicy retry_;
  runtime::Backoff pause_;
  const runtime::Clock& clock_;
  size_t max_body_bytes_;
};

}  // namespace paynotify::learning

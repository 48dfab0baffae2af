#include "learning-service/enrollment/enrollment_handler.hpp"

#include <charconv>

#include <fmt/format.h>

#include "common/consumer/headers.hpp"
#include "common/messages/mq_message.hpp"
#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"

namespace paynotify::learning {
namespace {

std::string JoinErrors(const std::vector<std::string>& errors) {
  std::string text;
  for (const auto& e : errors) {
    if (!text.empty()) text += "; ";
    text += e;
  }
  return text;
}

bool IsDocumentError(const std::vector<std::string>& errors) {
  for (const auto& e : errors) {
    if (e.rfind("body:", 0) == 0) return true;
  }
  return false;
}

std::optional<int64_t> ParsePositiveId(const std::string& text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

HandleResult DeadLetter(std::string_view reason, std::string text, int attempts, std::string key = {}) {
  HandleResult r;
  r.disposition = Disposition::DeadLetter(std::string(reason), std::move(text), attempts);
  r.outcome = Outcome::kDeadLetter;
  r.dedup_key = std::move(key);
  return r;
}

// Content encodings that leave the body as it is. Spring AMQP writes the charset here
// ("UTF-8"), so charsets count as "not encoded"; a compression (gzip, deflate, br, ...) does
// not: we never inflate a body from the queue (a small message could expand without bound).
bool IsPlainEncoding(const std::optional<std::string>& encoding) {
  if (!encoding || encoding->empty()) return true;
  std::string lower;
  for (char c : *encoding) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower == "identity" || lower == "utf-8" || lower == "utf8" || lower == "us-ascii" || lower == "ascii";
}

// A message_id is our dedup key, stored as PostgreSQL text: it must be valid UTF-8 without
// NUL (libpq would cut the key at a NUL, and an invalid byte fails the whole batch).
std::optional<std::string> MessageIdProblem(const std::optional<std::string>& message_id) {
  if (!message_id) return std::nullopt;
  if (!text::IsValidUtf8(*message_id)) return "not valid UTF-8";
  if (message_id->find('\0') != std::string::npos) return "contains a NUL character";
  return std::nullopt;
}

// Timestamps a producer can put in the property that we can subtract without overflow.
constexpr int64_t kLatestTimestamp = 4'102'444'800;  // 2100-01-01T00:00:00Z

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kIgnored: return "ignored";
    case Outcome::kRetry: return "retry";
    case Outcome::kDeadLetter: return "dead-letter";
    case Outcome::kPaused: return "paused";
  }
  return "unknown";
}

EnrollmentHandler::EnrollmentHandler(EnrollmentRepository& repository, EnrollmentMetrics& metrics, RetryPolicy retry,
                                     runtime::BackoffPolicy pause, const runtime::Clock& clock,
                                     size_t max_body_bytes)
    : repository_(repository),
      metrics_(metrics),
      retry_(retry),
      pause_(pause),
      clock_(clock),
      max_body_bytes_(max_body_bytes) {}

HandleResult EnrollmentHandler::RetryOrDeadLetter(int attempt, std::string_view exhausted_reason,
                                                  std::string error) const {
  HandleResult r;
  r.disposition = consumer::RetryOrDeadLetter(retry_, attempt, std::move(error), exhausted_reason);
  r.outcome = r.disposition.kind == Disposition::Kind::kRetry ? Outcome::kRetry : Outcome::kDeadLetter;
  return r;
}

Disposition EnrollmentHandler::Counted(HandleResult result) {
  metrics_.Record(result);
  Disposition d = std::move(result.disposition);
  d.key = std::move(result.dedup_key);
  d.outcome = std::string(OutcomeName(result.outcome));
  return d;
}

Disposition EnrollmentHandler::Decide(const amqp::Delivery& delivery) { return Counted(Handle(delivery)); }

std::optional<std::vector<Disposition>> EnrollmentHandler::DecideBatch(std::span<const amqp::Delivery> deliveries,
                                                                       std::string& failure) {
  std::optional<std::vector<HandleResult>> results = HandleBatch(deliveries, &failure);
  if (!results) return std::nullopt;
  std::vector<Disposition> decided;
  decided.reserve(results->size());
  for (HandleResult& r : *results) decided.push_back(Counted(std::move(r)));
  return decided;
}

EnrollmentHandler::Decision EnrollmentHandler::Classify(const amqp::Delivery& delivery) const {
  try {
    return ClassifyOrThrow(delivery);
  } catch (const std::exception& e) {
    // Decoding does not throw for bad input; this is running out of memory or a bug. Not
    // known to be the message's fault: retry within the budget, then park it.
    return RetryOrDeadLetter(consumer::AttemptOf(delivery), reason::kRetriesExhausted,
                             fmt::format("could not decide what to do with the message: {}", e.what()));
  }
}

EnrollmentHandler::Decision EnrollmentHandler::ClassifyOrThrow(const amqp::Delivery& delivery) const {
  const int attempt = consumer::AttemptOf(delivery);
  // Before decoding: the time and memory a body costs grow with its size.
  if (delivery.body.size() > max_body_bytes_) {
    return DeadLetter(reason::kTooLarge,
                      fmt::format("body: {} bytes, more than the {} allowed (rabbitmq.listener.max-body-bytes); "
                                  "not decoded",
                                  delivery.body.size(), max_body_bytes_),
                      attempt);
  }
  if (const auto problem = MessageIdProblem(delivery.message_id)) {
    return DeadLetter(reason::kInvalidMessage,
                      fmt::format("message_id property: {} (it is the dedup key): '{}'", *problem,
                                  text::Printable(*delivery.message_id, 64)),
                      attempt);
  }
  const messages::DecodeResult decoded = messages::DecodeMqMessage(delivery.body);
  if (!decoded.message) {
    if (!IsPlainEncoding(delivery.content_encoding)) {
      return DeadLetter(reason::kUnsupportedEncoding,
                        fmt::format("content_encoding property: '{}' is not supported (bodies are read as "
                                    "plain UTF-8 JSON): {}",
                                    text::Printable(*delivery.content_encoding, 64), JoinErrors(decoded.errors)),
                        attempt);
    }
    return DeadLetter(IsDocumentError(decoded.errors) ? reason::kMalformedJson : reason::kInvalidMessage,
                      JoinErrors(decoded.errors), attempt);
  }
  const messages::MqMessage& message = *decoded.message;
  std::string key = messages::DedupKey(delivery.message_id, message);

  if (message.message_type != messages::kPaymentResultType ||
      message.business_key2.value_or("") != kCourseOrderType) {
    HandleResult r;
    r.outcome = Outcome::kIgnored;
    r.dedup_key = std::move(key);
    return r;
  }
  if (!message.business_key1 || message.business_key1->empty()) {
    return DeadLetter(reason::kMissingBusinessKey1, "businessKey1: missing (the course-selection id)", attempt,
                      std::move(key));
  }
  const auto selection_id = ParsePositiveId(*message.business_key1);
  if (!selection_id) {
    return DeadLetter(reason::kNonNumericBusinessKey1,
                      fmt::format("businessKey1: '{}' is not a positive integer (the course-selection id)",
                                  text::Printable(*message.business_key1, 64)),
                      attempt, std::move(key));
  }
  return PaymentApplication{std::move(key), *selection_id};
}

HandleResult EnrollmentHandler::Interpret(const amqp::Delivery& delivery, const PaymentApplication& application,
                                          ApplyResult applied) const {
  HandleResult r;
  switch (applied) {
    case ApplyResult::kApplied:
      r.outcome = Outcome::kApplied;
      if (delivery.timestamp_s && *delivery.timestamp_s >= 0 && *delivery.timestamp_s <= kLatestTimestamp) {
        r.since_published =
            clock_.WallNow() - std::chrono::system_clock::time_point{std::chrono::seconds{*delivery.timestamp_s}};
      }
      break;
    case ApplyResult::kDuplicate:
      r.outcome = Outcome::kDuplicate;
      break;
    case ApplyResult::kSelectionMissing:
      r = RetryOrDeadLetter(consumer::AttemptOf(delivery), reason::kSelectionMissing,
                            fmt::format("course selection {} not found", application.choose_course_id));
      break;
  }
  r.dedup_key = application.message_key;
  return r;
}

HandleResult EnrollmentHandler::Handle(const amqp::Delivery& delivery) {
  Decision decision = Classify(delivery);
  if (auto* decided = std::get_if<HandleResult>(&decision)) {
    if (decided->outcome == Outcome::kIgnored) pause_.Reset();
    return std::move(*decided);
  }
  const PaymentApplication& application = std::get<PaymentApplication>(decision);
  const int attempt = consumer::AttemptOf(delivery);
  const auto started = clock_.Now();
  HandleResult r;
  try {
    const ApplyResult applied = repository_.Apply(application);
    pause_.Reset();
    r = Interpret(delivery, application, applied);
  } catch (const RepositoryError& e) {
    switch (e.kind()) {
      case FailureKind::kUnavailable:
        r.disposition = Disposition::Pause(pause_.Next(), fmt::format("database unavailable: {}", e.what()));
        r.outcome = Outcome::kPaused;
        break;
      case FailureKind::kTransient:
        pause_.Reset();
        r = RetryOrDeadLetter(attempt, reason::kRetriesExhausted, e.what());
        break;
      case FailureKind::kPermanent:
        pause_.Reset();
        r = DeadLetter(reason::kApplyFailed, e.what(), attempt);
        break;
    }
  } catch (const std::exception& e) {
    // Not classified by the adapter: we cannot tell whether retrying helps, so retry within
    // the budget and park it after that, rather than drop it or loop forever.
    pause_.Reset();
    r = RetryOrDeadLetter(attempt, reason::kRetriesExhausted, e.what());
  }
  r.apply_duration = clock_.Now() - started;
  r.dedup_key = application.message_key;
  return r;
}

std::optional<std::vector<HandleResult>> EnrollmentHandler::HandleBatch(std::span<const amqp::Delivery> deliveries,
                                                                        std::string* failure) {
  std::vector<Decision> decisions;
  decisions.reserve(deliveries.size());
  std::vector<PaymentApplication> applications;
  for (const amqp::Delivery& delivery : deliveries) {
    decisions.push_back(Classify(delivery));
    if (const auto* a = std::get_if<PaymentApplication>(&decisions.back())) applications.push_back(*a);
  }

  std::vector<ApplyResult> applied;
  const auto started = clock_.Now();
  if (!applications.empty()) {
    try {
      applied = repository_.ApplyBatch(applications);
    } catch (const std::exception& e) {
      // Nothing of the batch was committed - or, after an in-doubt commit, all of it was: the
      // inbox then finds each one a duplicate. Which message failed, and whether it is the
      // database or the message, only one-by-one handling can tell: leave it to that.
      if (failure != nullptr) *failure = e.what();
      return std::nullopt;
    }
    if (applied.size() != applications.size()) {
      if (failure != nullptr) {
        *failure = fmt::format("repository answered {} results for {} applications", applied.size(),
                               applications.size());
      }
      return std::nullopt;
    }
    pause_.Reset();
  }
  // Every applied message took part in the same transaction: each is charged its share.
  const auto share = applications.empty() ? std::chrono::duration<double>::zero()
                                          : std::chrono::duration<double>(clock_.Now() - started) /
                                                static_cast<double>(applications.size());

  std::vector<HandleResult> results;
  results.reserve(deliveries.size());
  size_t next_applied = 0;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (auto* decided = std::get_if<HandleResult>(&decisions[i])) {
      results.push_back(std::move(*decided));
      continue;
    }
    const auto& application = std::get<PaymentApplication>(decisions[i]);
    HandleResult r = Interpret(deliveries[i], application, applied[next_applied++]);
    r.apply_duration = share;
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace paynotify::learning

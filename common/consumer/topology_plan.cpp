#include "common/consumer/topology_plan.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"

namespace paynotify::consumer {
namespace {

// Header values are short strings in the broker's table; an exception text can be long
// (a whole SQL error). Keep the start, which names the problem.
constexpr size_t kMaxErrorText = 1000;
// Exchange and queue names are short strings (at most 255 bytes) in AMQP.
constexpr size_t kMaxNameText = 255;
// x-paynotify-original-headers: the summary stops growing past this (plus one entry).
constexpr size_t kMaxHeaderSummary = 1024;
// Each name and value in the summary shows at most this much of itself.
constexpr size_t kMaxSummaryPart = 64;

std::string Truncated(const std::string& text, size_t max_bytes = kMaxErrorText) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Keep the header valid UTF-8: never cut a character in half.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

bool IsBrokerDeathHeader(const std::string& name) {
  // The broker adds x-death (a table) and x-first/last-death-* when a message expires from a
  // retry queue; they describe our own retry hops, not the message.
  return name.rfind("x-death", 0) == 0 || name.rfind("x-first-death", 0) == 0 ||
         name.rfind("x-last-death", 0) == 0;
}

bool IsOwnHeader(const std::string& name) { return name.rfind("x-paynotify-", 0) == 0; }

// One of our headers as the delivery carries it, if it is a string we could have written
// (valid UTF-8, at most `max_bytes`): anything else was forged upstream and is not kept.
std::optional<std::string> OwnText(const amqp::Delivery& delivery, const char* name, size_t max_bytes) {
  const auto it = delivery.headers.find(name);
  if (it == delivery.headers.end()) return std::nullopt;
  const auto* value = std::get_if<std::string>(&it->second);
  if (value == nullptr || value->size() > max_bytes || !text::IsValidUtf8(*value)) return std::nullopt;
  return *value;
}

// One of our counters as the delivery carries it, if it is an integer we could have written.
std::optional<int64_t> OwnCount(const amqp::Delivery& delivery, const char* name) {
  const auto it = delivery.headers.find(name);
  if (it == delivery.headers.end()) return std::nullopt;
  const auto* value = std::get_if<int64_t>(&it->second);
  if (value == nullptr || *value < 1 || *value > 1'000'000) return std::nullopt;
  return *value;
}

std::string SummaryValue(const amqp::HeaderValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "\"" + text::Printable(v, kMaxSummaryPart) + "\"";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return fmt::format("{}", v);
        }
      },
      value);
}

// The original's headers but ours and the broker's retry bookkeeping, for operators.
std::string SummarizeHeaders(const amqp::Headers& headers) {
  std::string summary;
  size_t shown = 0;
  size_t total = 0;
  for (const auto& [name, value] : headers) {
    if (IsBrokerDeathHeader(name) || IsOwnHeader(name)) continue;
    ++total;
    if (summary.size() >= kMaxHeaderSummary) continue;  // counted, not shown
    if (!summary.empty()) summary += ", ";
    summary += text::Printable(name, kMaxSummaryPart) + "=" + SummaryValue(value);
    ++shown;
  }
  if (shown < total) summary += fmt::format("{}...(+{} more headers)", summary.empty() ? "" : ", ", total - shown);
  return summary;
}

// A copy with the body and the message_id (the dedup key) and nothing else: no property is
// set that the delivery did not carry (OutgoingMessage's content_type default included).
// Through the default exchange, persistent, mandatory: a missing retry/parking queue must
// not silently swallow the copy.
amqp::OutgoingMessage PersistentCopy(const amqp::Delivery& delivery) {
  amqp::OutgoingMessage copy;
  copy.exchange = "";
  copy.body = delivery.body;
  copy.message_id = delivery.message_id.value_or("");
  copy.content_type = "";
  copy.persistent = true;
  copy.mandatory = true;
  return copy;
}

// Body and properties (AMQP short strings, so bounded), plus only the headers we own: what
// the first delivery came from and a summary of its own headers. Never the original's other
// headers: a table that fits in the original's frame may not fit in a copy's, and then the
// copy could never be published (issue 10).
amqp::OutgoingMessage BaseCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology) {
  amqp::OutgoingMessage copy = PersistentCopy(delivery);
  copy.content_type = delivery.content_type.value_or("");
  copy.content_encoding = delivery.content_encoding.value_or("");
  copy.type = delivery.type.value_or("");
  copy.app_id = delivery.app_id.value_or("");
  copy.timestamp_s = delivery.timestamp_s;
  // Where the message first came from: a retried message arrives from the default exchange,
  // so the first hop's values are kept once set.
  copy.headers[kOriginalExchangeHeader] =
      OwnText(delivery, kOriginalExchangeHeader, kMaxNameText)
          .value_or(delivery.exchange.empty() ? topology.exchange : delivery.exchange);
  copy.headers[kOriginalQueueHeader] = OwnText(delivery, kOriginalQueueHeader, kMaxNameText).value_or(topology.queue);
  // The first hop summarises; later hops (whose headers are ours) pass its summary on.
  std::optional<std::string> summary = OwnText(delivery, kOriginalHeadersHeader, 2 * kMaxHeaderSummary);
  if (!summary) summary = SummarizeHeaders(delivery.headers);
  if (!summary->empty()) copy.headers[kOriginalHeadersHeader] = std::move(*summary);
  // A replayed message that fails again keeps its replay count into the next parked copy.
  if (const auto replayed = OwnCount(delivery, kReplayedHeader)) copy.headers[kReplayedHeader] = *replayed;
  return copy;
}

}  // namespace

std::string ConsumerTopology::RetryQueue(int failed_attempt) const {
  return fmt::format("{}.retry.{}", queue, failed_attempt);
}

std::vector<QueuePlan> ConsumerTopology::Queues() const {
  // Quorum queues the broker dead-letters out of: at-least-once, which needs reject-publish.
  const auto at_least_once = [this](QueuePlan& plan) {
    if (!IsQuorum()) return;
    plan.dead_letter_strategy = "at-least-once";
    plan.overflow = "reject-publish";
  };
  std::vector<QueuePlan> queues;
  QueuePlan main_queue;
  main_queue.name = queue;
  main_queue.queue_type = queue_type;
  main_queue.bind_to_exchange = true;
  if (IsQuorum()) {
    main_queue.delivery_limit = delivery_limit;
    main_queue.dead_letter_exchange = std::string{};
    main_queue.dead_letter_routing_key = dead_letter_queue;
    at_least_once(main_queue);
  }
  queues.push_back(main_queue);
  for (int n = 1; n < retry.max_attempts; ++n) {
    QueuePlan retry_queue;
    retry_queue.name = RetryQueue(n);
    retry_queue.queue_type = queue_type;
    retry_queue.message_ttl_ms = runtime::DelayForAttempt(retry.backoff, n).count();
    retry_queue.dead_letter_exchange = std::string{};
    retry_queue.dead_letter_routing_key = queue;
    at_least_once(retry_queue);
    queues.push_back(retry_queue);
  }
  QueuePlan parking;
  parking.name = dead_letter_queue;
  parking.queue_type = queue_type;
  queues.push_back(parking);
  return queues;
}

amqp::OutgoingMessage MakeRetryCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology, const Disposition& retry) {
  amqp::OutgoingMessage copy = BaseCopy(delivery, topology);
  copy.routing_key = topology.RetryQueue(retry.attempt - 1);
  copy.headers[kAttemptHeader] = static_cast<int64_t>(retry.attempt);
  copy.headers[kLastErrorHeader] = Truncated(retry.text);
  return copy;
}

amqp::OutgoingMessage MakeDeadLetterCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology,
                                const Disposition& dead_letter,
                                std::chrono::system_clock::time_point failed_at) {
  amqp::OutgoingMessage copy = BaseCopy(delivery, topology);
  copy.routing_key = topology.dead_letter_queue;
  // Why the earlier attempts failed, when the last one failed for another reason.
  if (auto last_error = OwnText(delivery, kLastErrorHeader, kMaxErrorText + 3)) {
    copy.headers[kLastErrorHeader] = std::move(*last_error);
  }
  copy.headers[kReasonHeader] = dead_letter.reason;
  copy.headers[kErrorHeader] = Truncated(dead_letter.text);
  copy.headers[kAttemptsHeader] = static_cast<int64_t>(dead_letter.attempt);
  copy.headers[kFailedAtHeader] = Iso8601Utc(failed_at);
  return copy;
}

amqp::OutgoingMessage MakeMinimalDeadLetterCopy(const amqp::Delivery& delivery, const ConsumerTopology& topology,
                                       const Disposition& dead_letter) {
  amqp::OutgoingMessage copy = PersistentCopy(delivery);
  copy.routing_key = topology.dead_letter_queue;
  copy.headers[kReasonHeader] = dead_letter.reason;
  return copy;
}

std::string Iso8601Utc(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const auto frac = static_cast<int>(((ms % 1000) + 1000) % 1000);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(secs), frac);
}

}  // namespace paynotify::consumer

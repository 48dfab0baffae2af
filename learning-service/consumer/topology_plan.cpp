#include "learning-service/consumer/topology_plan.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace paynotify::learning {
namespace {

// Header values are short strings in the broker's table; an exception text can be long
// (a whole SQL error). Keep the start, which names the problem.
constexpr size_t kMaxErrorText = 1000;

std::string Truncated(const std::string& text) {
  if (text.size() <= kMaxErrorText) return text;
  return text.substr(0, kMaxErrorText) + "...";
}

bool IsBrokerDeathHeader(const std::string& name) {
  // The broker adds x-death (a table we cannot carry) and x-first/last-death-* when a message
  // expires from a retry queue; copying the scalar ones would describe the previous hop only.
  return name.rfind("x-death", 0) == 0 || name.rfind("x-first-death", 0) == 0 ||
         name.rfind("x-last-death", 0) == 0;
}

OutgoingCopy BaseCopy(const Delivery& delivery, const ConsumerTopology& topology) {
  OutgoingCopy copy;
  copy.body = delivery.body;
  copy.message_id = delivery.message_id;
  copy.content_type = delivery.content_type;
  copy.type = delivery.type;
  copy.app_id = delivery.app_id;
  copy.timestamp_s = delivery.timestamp_s;
  for (const auto& [name, value] : delivery.headers) {
    if (!IsBrokerDeathHeader(name)) copy.headers.emplace(name, value);
  }
  // Where the message first came from: a retried message arrives from the default exchange,
  // so the first hop's values are kept once set.
  if (!copy.headers.contains(kOriginalExchangeHeader)) {
    copy.headers[kOriginalExchangeHeader] = delivery.exchange.empty() ? topology.exchange : delivery.exchange;
  }
  if (!copy.headers.contains(kOriginalQueueHeader)) copy.headers[kOriginalQueueHeader] = topology.queue;
  return copy;
}

}  // namespace

std::string ConsumerTopology::RetryQueue(int failed_attempt) const {
  return fmt::format("{}.retry.{}", queue, failed_attempt);
}

std::vector<QueuePlan> ConsumerTopology::Queues() const {
  std::vector<QueuePlan> queues;
  QueuePlan main_queue;
  main_queue.name = queue;
  main_queue.queue_type = queue_type;
  main_queue.bind_to_exchange = true;
  queues.push_back(main_queue);
  for (int n = 1; n < retry.max_attempts; ++n) {
    QueuePlan retry_queue;
    retry_queue.name = RetryQueue(n);
    retry_queue.queue_type = queue_type;
    retry_queue.message_ttl_ms = runtime::DelayForAttempt(retry.backoff, n).count();
    retry_queue.dead_letter_exchange = std::string{};
    retry_queue.dead_letter_routing_key = queue;
    queues.push_back(retry_queue);
  }
  QueuePlan parking;
  parking.name = dead_letter_queue;
  parking.queue_type = queue_type;
  queues.push_back(parking);
  return queues;
}

OutgoingCopy MakeRetryCopy(const Delivery& delivery, const ConsumerTopology& topology, const Disposition& retry) {
  OutgoingCopy copy = BaseCopy(delivery, topology);
  copy.routing_key = topology.RetryQueue(retry.attempt - 1);
  copy.headers[kAttemptHeader] = static_cast<int64_t>(retry.attempt);
  copy.headers[kLastErrorHeader] = Truncated(retry.text);
  return copy;
}

OutgoingCopy MakeDeadLetterCopy(const Delivery& delivery, const ConsumerTopology& topology,
                                const Disposition& dead_letter,
                                std::chrono::system_clock::time_point failed_at) {
  OutgoingCopy copy = BaseCopy(delivery, topology);
  copy.routing_key = topology.dead_letter_queue;
  copy.headers[kReasonHeader] = dead_letter.reason;
  copy.headers[kErrorHeader] = Truncated(dead_letter.text);
  copy.headers[kAttemptsHeader] = static_cast<int64_t>(dead_letter.attempt);
  copy.headers[kFailedAtHeader] = Iso8601Utc(failed_at);
  return copy;
}

std::string Iso8601Utc(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const auto frac = static_cast<int>(((ms % 1000) + 1000) % 1000);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(secs), frac);
}

}  // namespace paynotify::learning

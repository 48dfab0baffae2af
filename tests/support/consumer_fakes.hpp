#pragma once
// Test doubles for the consumer loop's ports and handler interface (common/consumer), one
// set for every test of the loop. No service vocabulary: tests/unit/consumer drives the loop
// with FakeHandler; a service's tests (tests/unit/learning) put their real handler between
// the same source and publisher. Header-only: the user links paynotify_consumer (or a core
// that does).
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/amqp/message.hpp"
#include "common/consumer/delivery_handler.hpp"
#include "common/consumer/headers.hpp"
#include "common/consumer/ports.hpp"
#include "common/consumer/topology_plan.hpp"

namespace paynotify::consumer::testing {

/// One thing the loop did to the broker, in order: "ack", "ack-through", "requeue",
/// "publish:<routing key>", "drop".
struct Event {
  std::string what;
  uint64_t tag = 0;
};

/// Renders events as "ack 7", "publish:q.dlq", ... for ElementsAre.
inline std::vector<std::string> Render(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.what + (e.tag ? " " + std::to_string(e.tag) : ""));
  return out;
}

/// Hands out `pending` in order. `fail_next` makes the next Next() throw (a lost connection);
/// `fail_acks` makes that many Ack/AckThrough/Requeue calls throw. When `stop_when_drained` is
/// set, a Next() that finds nothing pending requests stop on it, so Run() returns by itself:
/// no thread, no waiting for a condition.
class FakeDeliverySource : public DeliverySource {
 public:
  explicit FakeDeliverySource(std::vector<Event>& log) : log_(log) {}
  std::optional<amqp::Delivery> Next(std::chrono::milliseconds timeout) override {
    timeouts.push_back(timeout);
    if (fail_next) {
      fail_next = false;
      throw std::runtime_error("socket closed");
    }
    if (pending.empty()) {
      if (stop_when_drained != nullptr) stop_when_drained->request_stop();
      return std::nullopt;
    }
    amqp::Delivery d = pending.front();
    pending.pop_front();
    return d;
  }
  void Ack(uint64_t tag) override { Settle("ack", tag); }
  void AckThrough(uint64_t tag) override { Settle("ack-through", tag); }
  void Requeue(uint64_t tag) override { Settle("requeue", tag); }
  void DropConnection() noexcept override { log_.push_back({"drop", 0}); }

  std::deque<amqp::Delivery> pending;
  bool fail_next = false;
  int fail_acks = 0;
  std::stop_source* stop_when_drained = nullptr;
  std::vector<std::chrono::milliseconds> timeouts;

 private:
  void Settle(const char* what, uint64_t tag) {
    if (fail_acks > 0) {
      --fail_acks;
      throw std::runtime_error("connection reset by peer");
    }
    log_.push_back({what, tag});
  }
  std::vector<Event>& log_;
};

/// Confirms every copy unless `confirm` says otherwise (front first); `throw_next` makes the
/// next publish throw (no connection).
class FakeCopyPublisher : public CopyPublisher {
 public:
  explicit FakeCopyPublisher(std::vector<Event>& log) : log_(log) {}
  bool PublishConfirmed(const amqp::OutgoingMessage& copy) override {
    log_.push_back({"publish:" + copy.routing_key, 0});
    copies.push_back(copy);
    if (throw_next) {
      throw_next = false;
      throw std::runtime_error("connection refused");
    }
    if (!confirm.empty()) {
      bool c = confirm.front();
      confirm.pop_front();
      return c;
    }
    return true;
  }
  void Maintain() override { ++maintained; }

  std::deque<bool> confirm;
  bool throw_next = false;
  std::vector<amqp::OutgoingMessage> copies;
  int maintained = 0;

 private:
  std::vector<Event>& log_;
};

/// A handler that answers from a script per delivery tag (front first; kAck when none is
/// left). DecideBatch answers the same way unless `fail_batches` > 0 (then it fails as a
/// whole, `failure` = "batch failed"). `throw_on_tag` makes Decide throw for that tag, like a
/// handler with a bug.
class FakeHandler : public DeliveryHandler {
 public:
  Disposition Decide(const amqp::Delivery& d) override {
    decided.push_back(d.delivery_tag);
    if (throw_on_tag && *throw_on_tag == d.delivery_tag) throw std::logic_error("handler bug");
    return Pop(d.delivery_tag);
  }
  std::optional<std::vector<Disposition>> DecideBatch(std::span<const amqp::Delivery> batch,
                                                      std::string& failure) override {
    std::vector<uint64_t> tags;
    for (const auto& d : batch) tags.push_back(d.delivery_tag);
    batches.push_back(tags);
    if (fail_batches > 0) {
      --fail_batches;
      failure = "batch failed";
      return std::nullopt;
    }
    std::vector<Disposition> out;
    for (uint64_t tag : tags) out.push_back(Pop(tag));
    if (short_answer) out.pop_back();
    return out;
  }
  size_t MaxBodyBytes() const override { return max_body_bytes; }
  std::span<const std::string_view> DeadLetterReasons() const override { return reasons; }

  void Then(uint64_t tag, Disposition d) { script[tag].push_back(std::move(d)); }

  std::map<uint64_t, std::deque<Disposition>> script;
  std::vector<uint64_t> decided;               ///< every Decide, by tag
  std::vector<std::vector<uint64_t>> batches;  ///< every DecideBatch, by tags
  int fail_batches = 0;
  bool short_answer = false;  ///< DecideBatch answers one disposition too few (a broken handler)
  std::optional<uint64_t> throw_on_tag;
  size_t max_body_bytes = 1024;
  std::vector<std::string_view> reasons{"bad-input", "too-large"};

 private:
  Disposition Pop(uint64_t tag) {
    auto it = script.find(tag);
    if (it == script.end() || it->second.empty()) return Disposition::Ack();
    Disposition d = std::move(it->second.front());
    it->second.pop_front();
    return d;
  }
};

/// The topology the loop tests run against: exchange "ex", queue "q", parking queue "q.dlq",
/// retry copies through "q.retry.<n>" after 1 s doubling up to 30 s, three attempts in all.
inline ConsumerTopology LoopTopology() {
  using namespace std::chrono_literals;
  ConsumerTopology t;
  t.exchange = "ex";
  t.queue = "q";
  t.dead_letter_queue = "q.dlq";
  t.retry.backoff = {1000ms, 2.0, 30000ms};
  t.retry.max_attempts = 3;
  return t;
}

/// A delivery as a producer might send it: JSON body, message id, some properties.
inline amqp::Delivery MakeDelivery(std::string body, std::optional<std::string> message_id = "mid-1", int attempt = 1) {
  amqp::Delivery d;
  d.delivery_tag = 7;
  d.exchange = "events.fanout";
  d.body = std::move(body);
  d.message_id = std::move(message_id);
  d.content_type = "application/json";
  d.type = "some_event";
  d.app_id = "producer";
  d.timestamp_s = 1704067200;  // 2024-01-01T00:00:00Z, the ManualClock's default wall time
  if (attempt > 1) d.headers[kAttemptHeader] = static_cast<int64_t>(attempt);
  return d;
}

/// Deliveries tagged 1..n with message ids "message-<tag>".
inline std::vector<amqp::Delivery> Deliveries(int n) {
  std::vector<amqp::Delivery> out;
  for (int i = 1; i <= n; ++i) {
    amqp::Delivery d = MakeDelivery("{\"n\":" + std::to_string(i) + "}", "message-" + std::to_string(i));
    d.delivery_tag = static_cast<uint64_t>(i);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace paynotify::consumer::testing

#include "common/consumer/topology_plan.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "tests/support/consumer_fakes.hpp"

namespace paynotify::consumer {
namespace {

using namespace std::chrono_literals;

ConsumerTopology Topology() {
  ConsumerTopology t;
  t.exchange = "events.fanout";
  t.queue = "svc.events";
  t.dead_letter_queue = "svc.events.dlq";
  t.retry.backoff = {.initial = 1000ms, .multiplier = 2.0, .max = 5000ms};
  t.retry.max_attempts = 5;
  return t;
}

TEST(TopologyPlanTest, MainQueueRetryQueuePerStepAndParkingQueue) {
  const auto queues = Topology().Queues();
  ASSERT_EQ(queues.size(), 6u);
  EXPECT_EQ(queues[0].name, "svc.events");
  EXPECT_TRUE(queues[0].bind_to_exchange);
  EXPECT_FALSE(queues[0].message_ttl_ms.has_value());
  const int64_t ttl[] = {1000, 2000, 4000, 5000};
  for (int n = 1; n <= 4; ++n) {
    const QueuePlan& q = queues[n];
    EXPECT_EQ(q.name, "svc.events.retry." + std::to_string(n));
    EXPECT_FALSE(q.bind_to_exchange);
    EXPECT_EQ(q.message_ttl_ms, ttl[n - 1]);
    EXPECT_EQ(q.dead_letter_exchange, std::string{});  // the default exchange
    EXPECT_EQ(q.dead_letter_routing_key, "svc.events");
  }
  EXPECT_EQ(queues[5].name, "svc.events.dlq");
  EXPECT_FALSE(queues[5].bind_to_exchange);
}

TEST(TopologyPlanTest, QueueTypeAppliesToEveryQueue) {
  ConsumerTopology t = Topology();
  t.queue_type = "quorum";
  for (const auto& q : t.Queues()) EXPECT_EQ(q.queue_type, "quorum") << q.name;
}

// Classic mode declares exactly what it declared before quorum mode existed: none of the
// quorum-only arguments, whatever consumer.delivery-limit says.
TEST(TopologyPlanTest, ClassicModeSendsNoQuorumArguments) {
  ConsumerTopology t = Topology();
  t.delivery_limit = 3;
  const auto queues = t.Queues();
  ASSERT_EQ(queues.size(), 6u);
  for (const QueuePlan& q : queues) {
    EXPECT_EQ(q.queue_type, "classic") << q.name;
    EXPECT_FALSE(q.delivery_limit.has_value()) << q.name;
    EXPECT_FALSE(q.dead_letter_strategy.has_value()) << q.name;
    EXPECT_FALSE(q.overflow.has_value()) << q.name;
  }
  EXPECT_FALSE(queues[0].dead_letter_exchange.has_value());
  EXPECT_FALSE(queues[0].dead_letter_routing_key.has_value());
  EXPECT_FALSE(queues[5].dead_letter_exchange.has_value());
  EXPECT_FALSE(queues[5].message_ttl_ms.has_value());
}

TEST(TopologyPlanTest, QuorumMainQueueParksAfterTheDeliveryLimitAtLeastOnce) {
  ConsumerTopology t = Topology();
  t.queue_type = "quorum";
  t.delivery_limit = 7;
  const QueuePlan main_queue = t.Queues().front();
  EXPECT_EQ(main_queue.name, "svc.events");
  EXPECT_TRUE(main_queue.bind_to_exchange);
  EXPECT_EQ(main_queue.delivery_limit, 7);
  EXPECT_EQ(main_queue.dead_letter_exchange, std::string{});  // the default exchange ...
  EXPECT_EQ(main_queue.dead_letter_routing_key, "svc.events.dlq");  // ... straight to the parking queue
  EXPECT_EQ(main_queue.dead_letter_strategy, "at-least-once");
  EXPECT_EQ(main_queue.overflow, "reject-publish");  // at-least-once requires it
  EXPECT_FALSE(main_queue.message_ttl_ms.has_value());
}

TEST(TopologyPlanTest, QuorumRetryQueuesKeepTheirTtlAndDeadLetterBackAtLeastOnce) {
  ConsumerTopology t = Topology();
  t.queue_type = "quorum";
  const auto queues = t.Queues();
  ASSERT_EQ(queues.size(), 6u);
  const int64_t ttl[] = {1000, 2000, 4000, 5000};
  for (int n = 1; n <= 4; ++n) {
    const QueuePlan& q = queues[n];
    EXPECT_EQ(q.name, "svc.events.retry." + std::to_string(n));
    EXPECT_EQ(q.message_ttl_ms, ttl[n - 1]);
    EXPECT_EQ(q.dead_letter_exchange, std::string{});
    EXPECT_EQ(q.dead_letter_routing_key, "svc.events");
    EXPECT_EQ(q.dead_letter_strategy, "at-least-once") << q.name;
    EXPECT_EQ(q.overflow, "reject-publish") << q.name;
    EXPECT_FALSE(q.delivery_limit.has_value()) << q.name;  // nobody consumes a retry queue
    EXPECT_FALSE(q.bind_to_exchange);
  }
}

TEST(TopologyPlanTest, QuorumParkingQueueIsPlain) {
  ConsumerTopology t = Topology();
  t.queue_type = "quorum";
  const QueuePlan parking = t.Queues().back();
  EXPECT_EQ(parking.name, "svc.events.dlq");
  EXPECT_EQ(parking.queue_type, "quorum");
  // No delivery limit: every paynotifyctl dlq walk returns the messages it keeps, which a
  // quorum queue counts as a delivery; no dead-letter target: there is nowhere further to go.
  EXPECT_FALSE(parking.delivery_limit.has_value());
  EXPECT_FALSE(parking.dead_letter_exchange.has_value());
  EXPECT_FALSE(parking.dead_letter_strategy.has_value());
  EXPECT_FALSE(parking.overflow.has_value());
  EXPECT_FALSE(parking.message_ttl_ms.has_value());
}

TEST(TopologyPlanTest, DeliveryLimitDefaultsToTwenty) {
  EXPECT_EQ(ConsumerTopology{}.delivery_limit, 20);
}

TEST(TopologyPlanTest, RetryCopyKeepsBodyAndPropertiesAndCarriesNextAttempt) {
  amqp::Delivery d = testing::MakeDelivery("{\"id\":1}", "mid-1", 2);
  d.content_encoding = "UTF-8";
  d.headers["x-custom"] = std::string("summarised");
  d.headers["x-first-death-queue"] = std::string("svc.events.retry.1");
  const amqp::OutgoingMessage copy =
      MakeRetryCopy(d, Topology(), Disposition::Retry(2000ms, 3, "deadlock detected"));
  EXPECT_EQ(copy.routing_key, "svc.events.retry.2");
  EXPECT_EQ(copy.body, d.body);
  EXPECT_EQ(copy.message_id, "mid-1");
  EXPECT_EQ(copy.content_type, *d.content_type);
  EXPECT_EQ(copy.content_encoding, "UTF-8");
  EXPECT_EQ(copy.type, *d.type);
  EXPECT_EQ(copy.app_id, *d.app_id);
  // Through the default exchange, by queue name; persistent; mandatory, so a missing retry
  // queue returns the copy instead of swallowing it.
  EXPECT_EQ(copy.exchange, "");
  EXPECT_TRUE(copy.persistent);
  EXPECT_TRUE(copy.mandatory);
  EXPECT_EQ(copy.timestamp_s, d.timestamp_s);
  EXPECT_EQ(std::get<int64_t>(copy.headers.at(kAttemptHeader)), 3);
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kLastErrorHeader)), "deadlock detected");
  // Foreign headers are summarised, never copied (issue 10); the broker's retry bookkeeping
  // is left out of the summary.
  EXPECT_FALSE(copy.headers.contains("x-custom"));
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalHeadersHeader)), "x-custom=\"summarised\"");
  EXPECT_FALSE(copy.headers.contains("x-first-death-queue"));
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalExchangeHeader)), "events.fanout");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalQueueHeader)), "svc.events");
}

TEST(TopologyPlanTest, OriginalExchangeSurvivesTheRetryHop) {
  // Back from a retry queue the delivery's exchange is the default one ("").
  amqp::Delivery d = testing::MakeDelivery("{}", "mid-2", 2);
  d.exchange = "";
  d.headers[kOriginalExchangeHeader] = std::string("some_exchange");
  const amqp::OutgoingMessage copy = MakeDeadLetterCopy(d, Topology(), Disposition::DeadLetter("x", "y", 2),
                                               std::chrono::system_clock::time_point{});
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalExchangeHeader)), "some_exchange");
}

TEST(TopologyPlanTest, DeadLetterCopyNamesReasonErrorAttemptsOriginAndTime) {
  const amqp::Delivery d = testing::MakeDelivery("{bad", std::nullopt);
  const auto failed_at = std::chrono::system_clock::time_point{std::chrono::milliseconds{1704067200123}};
  const amqp::OutgoingMessage copy = MakeDeadLetterCopy(
      d, Topology(), Disposition::DeadLetter("malformed-json", "body: syntax error", 1), failed_at);
  EXPECT_EQ(copy.routing_key, "svc.events.dlq");
  EXPECT_EQ(copy.body, "{bad");
  EXPECT_EQ(copy.message_id, "");  // absent on the delivery: absent on the copy
  EXPECT_EQ(copy.exchange, "");
  EXPECT_TRUE(copy.persistent);
  EXPECT_TRUE(copy.mandatory);
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kReasonHeader)), "malformed-json");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kErrorHeader)), "body: syntax error");
  EXPECT_EQ(std::get<int64_t>(copy.headers.at(kAttemptsHeader)), 1);
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalExchangeHeader)), "events.fanout");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalQueueHeader)), "svc.events");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kFailedAtHeader)), "2024-01-01T00:00:00.123Z");
}

TEST(TopologyPlanTest, LongErrorTextIsTruncated) {
  const amqp::OutgoingMessage copy = MakeRetryCopy(testing::MakeDelivery("{}"), Topology(),
                                          Disposition::Retry(1000ms, 2, std::string(5000, 'e')));
  EXPECT_LT(std::get<std::string>(copy.headers.at(kLastErrorHeader)).size(), 1100u);
}

TEST(DeliveryTest, AttemptDefaultsToOneAndIgnoresGarbage) {
  amqp::Delivery d;
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = std::string("zz");
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = int64_t{-3};
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = int64_t{4};
  EXPECT_EQ(AttemptOf(d), 4);
}

// --- hostile headers (issue 10) -------------------------------------------------------------

// What a header table costs on the wire (AMQP 0-9-1 field table encoding).
size_t EncodedSize(const amqp::Headers& headers) {
  size_t size = 4;
  for (const auto& [name, value] : headers) {
    size += 1 + name.size() + 1;
    if (const auto* text = std::get_if<std::string>(&value)) {
      size += 4 + text->size();
    } else {
      size += 8;
    }
  }
  return size;
}

TEST(TopologyPlanTest, CopiesCarryOnlyOurHeadersAndABoundedSummaryWhateverTheOriginalHad) {
  // The original's headers fill its frame (and would grow as JSON text); ours are forged.
  amqp::Delivery d = testing::MakeDelivery("{}", "mid-3", 2);
  for (int i = 0; i < 2000; ++i) {
    d.headers["h" + std::to_string(i)] = std::string(60, '\x01');
  }
  d.headers["nested"] = "[" + std::string(100000, '[') + "]";
  d.headers[kOriginalExchangeHeader] = std::string(100000, 'x');
  d.headers[kOriginalQueueHeader] = int64_t{5};
  d.headers[kOriginalHeadersHeader] = std::string(100000, 's');
  d.headers[kReasonHeader] = std::string("forged");
  const amqp::OutgoingMessage retry = MakeRetryCopy(d, Topology(), Disposition::Retry(1000ms, 3, "deadlock"));
  const amqp::OutgoingMessage parked = MakeDeadLetterCopy(d, Topology(), Disposition::DeadLetter("too-large", "big", 2),
                                                 std::chrono::system_clock::time_point{});
  for (const amqp::OutgoingMessage* copy : {&retry, &parked}) {
    for (const auto& [name, value] : copy->headers) EXPECT_EQ(name.rfind("x-paynotify-", 0), 0u) << name;
    EXPECT_LT(EncodedSize(copy->headers), 4096u);
    EXPECT_EQ(std::get<std::string>(copy->headers.at(kOriginalExchangeHeader)), "events.fanout");
    EXPECT_EQ(std::get<std::string>(copy->headers.at(kOriginalQueueHeader)), "svc.events");
    const std::string& summary = std::get<std::string>(copy->headers.at(kOriginalHeadersHeader));
    EXPECT_LT(summary.size(), 2048u);
    EXPECT_EQ(summary.rfind("h0=\"\\x01\\x01", 0), 0u) << summary.substr(0, 100);
    EXPECT_NE(summary.find("more headers)"), std::string::npos);
    EXPECT_EQ(summary.find('\x01'), std::string::npos);
  }
  EXPECT_FALSE(retry.headers.contains(kReasonHeader));
  EXPECT_EQ(std::get<std::string>(parked.headers.at(kReasonHeader)), "too-large");
}

TEST(TopologyPlanTest, TheFirstHopsSummaryTravelsWithTheRetries) {
  amqp::Delivery first = testing::MakeDelivery("{}", "mid-4");
  first.headers["traceparent"] = std::string("00-abc-01");
  first.headers["x-death"] = std::string("[{\"count\":1}]");
  const amqp::OutgoingMessage hop1 = MakeRetryCopy(first, Topology(), Disposition::Retry(1000ms, 2, "deadlock"));
  // Back from the retry queue: our headers, plus the broker's bookkeeping.
  amqp::Delivery second = testing::MakeDelivery("{}", "mid-4", 2);
  second.exchange = "";
  for (const auto& [name, value] : hop1.headers) second.headers[name] = value;
  second.headers["x-first-death-queue"] = std::string("svc.events.retry.1");
  const amqp::OutgoingMessage parked = MakeDeadLetterCopy(second, Topology(), Disposition::DeadLetter("retries-exhausted", "x", 2),
                                                 std::chrono::system_clock::time_point{});
  EXPECT_EQ(std::get<std::string>(parked.headers.at(kOriginalHeadersHeader)), "traceparent=\"00-abc-01\"");
  EXPECT_EQ(std::get<std::string>(parked.headers.at(kLastErrorHeader)), "deadlock");
  EXPECT_EQ(std::get<std::string>(parked.headers.at(kOriginalExchangeHeader)), "events.fanout");
}

TEST(TopologyPlanTest, TheReplayCountTravelsWithRetriesIntoTheNextParkedCopy) {
  amqp::Delivery replayed = testing::MakeDelivery("{}", "mid-6");
  replayed.headers[kReplayedHeader] = int64_t{2};
  const amqp::OutgoingMessage retry = MakeRetryCopy(replayed, Topology(), Disposition::Retry(1000ms, 2, "deadlock"));
  EXPECT_EQ(std::get<int64_t>(retry.headers.at(kReplayedHeader)), 2);
  const amqp::OutgoingMessage parked = MakeDeadLetterCopy(replayed, Topology(), Disposition::DeadLetter("x", "y", 1),
                                                          std::chrono::system_clock::time_point{});
  EXPECT_EQ(std::get<int64_t>(parked.headers.at(kReplayedHeader)), 2);
  // Anything else under that name was not written by us: left out.
  for (const amqp::HeaderValue& forged : {amqp::HeaderValue{std::string("2")}, amqp::HeaderValue{int64_t{0}},
                                          amqp::HeaderValue{int64_t{2'000'000}}}) {
    amqp::Delivery d = testing::MakeDelivery("{}", "mid-7");
    d.headers[kReplayedHeader] = forged;
    EXPECT_FALSE(MakeRetryCopy(d, Topology(), Disposition::Retry(1000ms, 2, "e")).headers.contains(kReplayedHeader));
  }
  EXPECT_FALSE(MakeRetryCopy(testing::MakeDelivery("{}", "mid-8"), Topology(), Disposition::Retry(1000ms, 2, "e"))
                   .headers.contains(kReplayedHeader));
}

TEST(TopologyPlanTest, MinimalDeadLetterCopyIsBodyMessageIdAndReason) {
  amqp::Delivery d = testing::MakeDelivery("{\"id\":1}", "mid-5");
  d.headers["big"] = std::string(100000, 'b');
  const amqp::OutgoingMessage copy = MakeMinimalDeadLetterCopy(d, Topology(), Disposition::DeadLetter("invalid-message", "t", 1));
  EXPECT_EQ(copy.routing_key, "svc.events.dlq");
  EXPECT_EQ(copy.body, d.body);
  EXPECT_EQ(copy.message_id, "mid-5");  // the dedup key: a replay must not apply it twice
  EXPECT_EQ(copy.content_type, "");  // not OutgoingMessage's application/json default
  EXPECT_EQ(copy.type, "");
  EXPECT_TRUE(copy.persistent);
  EXPECT_TRUE(copy.mandatory);
  ASSERT_EQ(copy.headers.size(), 1u);
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kReasonHeader)), "invalid-message");
}

TEST(DeliveryTest, AttemptFromAHostileDoubleIsClampedNotCast) {
  amqp::Delivery d;
  d.headers[kAttemptHeader] = 1e300;
  EXPECT_EQ(AttemptOf(d), 1'000'000);
  d.headers[kAttemptHeader] = -1e300;
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = 3.0;
  EXPECT_EQ(AttemptOf(d), 3);
}

}  // namespace
}  // namespace paynotify::consumer

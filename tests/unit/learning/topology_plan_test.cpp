#include "learning-service/consumer/topology_plan.hpp"

#include <gtest/gtest.h>

#include "tests/unit/learning/fakes.hpp"

namespace paynotify::learning {
namespace {

using namespace std::chrono_literals;

ConsumerTopology Topology() {
  ConsumerTopology t;
  t.exchange = "paynotify_exchange_fanout";
  t.queue = "learning.paynotify";
  t.dead_letter_queue = "learning.paynotify.dlq";
  t.retry.backoff = {.initial = 1000ms, .multiplier = 2.0, .max = 5000ms};
  t.retry.max_attempts = 5;
  return t;
}

TEST(TopologyPlanTest, MainQueueRetryQueuePerStepAndParkingQueue) {
  const auto queues = Topology().Queues();
  ASSERT_EQ(queues.size(), 6u);
  EXPECT_EQ(queues[0].name, "learning.paynotify");
  EXPECT_TRUE(queues[0].bind_to_exchange);
  EXPECT_FALSE(queues[0].message_ttl_ms.has_value());
  const int64_t ttl[] = {1000, 2000, 4000, 5000};
  for (int n = 1; n <= 4; ++n) {
    const QueuePlan& q = queues[n];
    EXPECT_EQ(q.name, "learning.paynotify.retry." + std::to_string(n));
    EXPECT_FALSE(q.bind_to_exchange);
    EXPECT_EQ(q.message_ttl_ms, ttl[n - 1]);
    EXPECT_EQ(q.dead_letter_exchange, std::string{});  // the default exchange
    EXPECT_EQ(q.dead_letter_routing_key, "learning.paynotify");
  }
  EXPECT_EQ(queues[5].name, "learning.paynotify.dlq");
  EXPECT_FALSE(queues[5].bind_to_exchange);
}

TEST(TopologyPlanTest, QueueTypeAppliesToEveryQueue) {
  ConsumerTopology t = Topology();
  t.queue_type = "quorum";
  for (const auto& q : t.Queues()) EXPECT_EQ(q.queue_type, "quorum") << q.name;
}

TEST(TopologyPlanTest, RetryCopyKeepsBodyAndPropertiesAndCarriesNextAttempt) {
  Delivery d = testing::MakeDelivery("{\"id\":1}", "mid-1", 2);
  d.headers["x-custom"] = std::string("kept");
  d.headers["x-first-death-queue"] = std::string("learning.paynotify.retry.1");
  const OutgoingCopy copy =
      MakeRetryCopy(d, Topology(), Disposition::Retry(2000ms, 3, "deadlock detected"));
  EXPECT_EQ(copy.routing_key, "learning.paynotify.retry.2");
  EXPECT_EQ(copy.body, d.body);
  EXPECT_EQ(copy.message_id, "mid-1");
  EXPECT_EQ(copy.content_type, d.content_type);
  EXPECT_EQ(copy.type, d.type);
  EXPECT_EQ(copy.app_id, d.app_id);
  EXPECT_EQ(copy.timestamp_s, d.timestamp_s);
  EXPECT_EQ(std::get<int64_t>(copy.headers.at(kAttemptHeader)), 3);
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kLastErrorHeader)), "deadlock detected");
  EXPECT_EQ(std::get<std::string>(copy.headers.at("x-custom")), "kept");
  EXPECT_FALSE(copy.headers.contains("x-first-death-queue"));
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalExchangeHeader)), "paynotify_exchange_fanout");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalQueueHeader)), "learning.paynotify");
}

TEST(TopologyPlanTest, OriginalExchangeSurvivesTheRetryHop) {
  // Back from a retry queue the delivery's exchange is the default one ("").
  Delivery d = testing::MakeDelivery("{}", "mid-2", 2);
  d.exchange = "";
  d.headers[kOriginalExchangeHeader] = std::string("some_exchange");
  const OutgoingCopy copy = MakeDeadLetterCopy(d, Topology(), Disposition::DeadLetter("x", "y", 2),
                                               std::chrono::system_clock::time_point{});
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalExchangeHeader)), "some_exchange");
}

TEST(TopologyPlanTest, DeadLetterCopyNamesReasonErrorAttemptsOriginAndTime) {
  const Delivery d = testing::MakeDelivery("{bad", std::nullopt);
  const auto failed_at = std::chrono::system_clock::time_point{std::chrono::milliseconds{1704067200123}};
  const OutgoingCopy copy = MakeDeadLetterCopy(
      d, Topology(), Disposition::DeadLetter("malformed-json", "body: syntax error", 1), failed_at);
  EXPECT_EQ(copy.routing_key, "learning.paynotify.dlq");
  EXPECT_EQ(copy.body, "{bad");
  EXPECT_FALSE(copy.message_id.has_value());
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kReasonHeader)), "malformed-json");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kErrorHeader)), "body: syntax error");
  EXPECT_EQ(std::get<int64_t>(copy.headers.at(kAttemptsHeader)), 1);
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalExchangeHeader)), "paynotify_exchange_fanout");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kOriginalQueueHeader)), "learning.paynotify");
  EXPECT_EQ(std::get<std::string>(copy.headers.at(kFailedAtHeader)), "2024-01-01T00:00:00.123Z");
}

TEST(TopologyPlanTest, LongErrorTextIsTruncated) {
  const OutgoingCopy copy = MakeRetryCopy(testing::MakeDelivery("{}"), Topology(),
                                          Disposition::Retry(1000ms, 2, std::string(5000, 'e')));
  EXPECT_LT(std::get<std::string>(copy.headers.at(kLastErrorHeader)).size(), 1100u);
}

TEST(DeliveryTest, AttemptDefaultsToOneAndIgnoresGarbage) {
  Delivery d;
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = std::string("zz");
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = int64_t{-3};
  EXPECT_EQ(AttemptOf(d), 1);
  d.headers[kAttemptHeader] = int64_t{4};
  EXPECT_EQ(AttemptOf(d), 4);
}

}  // namespace
}  // namespace paynotify::learning

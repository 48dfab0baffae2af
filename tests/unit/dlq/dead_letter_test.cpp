#include "paynotifyctl/dlq/dead_letter.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "common/consumer/headers.hpp"
#include "common/consumer/topology_plan.hpp"
#include "tests/support/consumer_fakes.hpp"

namespace paynotify::ctl::dlq {
namespace {

using namespace std::chrono_literals;

consumer::ConsumerTopology Topology() {
  consumer::ConsumerTopology t;
  t.exchange = "paynotify_exchange_fanout";
  t.queue = "learning.paynotify";
  t.dead_letter_queue = "learning.paynotify.dlq";
  return t;
}

// A parked copy exactly as the consumer writes it: the delivery it parked, through
// MakeDeadLetterCopy, as the parking queue delivers it back.
amqp::Delivery Parked(const std::string& body, const std::string& message_id, const std::string& reason,
                      int attempts, int attempt_header = 0) {
  amqp::Delivery original = consumer::testing::MakeDelivery(body, message_id, attempt_header > 0 ? attempt_header : 1);
  if (attempt_header == 0) original.headers.erase(consumer::kAttemptHeader);
  original.headers["traceparent"] = std::string("00-abc-01");
  original.content_type = "application/json";
  original.type = "payresult_notify";
  original.app_id = "order-service";
  original.timestamp_s = 1700000000;
  const amqp::OutgoingMessage copy = consumer::MakeDeadLetterCopy(
      original, Topology(), consumer::Disposition::DeadLetter(reason, "selection 42 does not exist", attempts),
      std::chrono::system_clock::time_point{} + 1700000000s);
  amqp::Delivery parked;
  parked.body = copy.body;
  parked.message_id = copy.message_id;
  parked.content_type = copy.content_type;
  parked.type = copy.type;
  parked.app_id = copy.app_id;
  parked.timestamp_s = copy.timestamp_s;
  parked.delivery_mode = 2;
  parked.headers = copy.headers;
  parked.routing_key = copy.routing_key;
  return parked;
}

const std::string kBody =
    R"({"id":7,"messageType":"payresult_notify","businessKey1":"42","businessKey2":"60201","businessKey3":null})";

TEST(DeadLetterSummaryTest, ReadsTheConsumersHeadersAndTheBody) {
  const DeadLetterSummary s = Summarize(Parked(kBody, "mid-1", "selection-missing", 5), 3);
  EXPECT_EQ(s.position, 3u);
  EXPECT_EQ(s.message_id, "mid-1");
  EXPECT_EQ(s.reason, "selection-missing");
  EXPECT_EQ(s.error, "selection 42 does not exist");
  EXPECT_EQ(s.attempts, 5);
  EXPECT_EQ(s.failed_at, "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(s.replayed, 0);
  EXPECT_EQ(s.business_key1, "42");
  EXPECT_EQ(s.business_key2, "60201");
  EXPECT_FALSE(s.body_problem);
  EXPECT_EQ(s.body_size, kBody.size());
  EXPECT_EQ(s.body_start, kBody.substr(0, kBodyPreviewBytes));
}

TEST(DeadLetterSummaryTest, ABodyThatDoesNotParseStillListsWithWhatIsKnown) {
  amqp::Delivery parked = Parked("\x01not json\xff", "mid-2", "malformed-json", 1);
  const DeadLetterSummary s = Summarize(parked, 0);
  EXPECT_EQ(s.reason, "malformed-json");
  EXPECT_FALSE(s.business_key1);
  ASSERT_TRUE(s.body_problem);
  EXPECT_FALSE(s.body_problem->empty());
  EXPECT_EQ(s.body_start, "\x01not json\xff");  // raw: escaped where printed

  parked.body = std::string(kMaxDecodeBytes + 1, '{');
  const DeadLetterSummary big = Summarize(parked, 0);
  EXPECT_EQ(big.body_start.size(), kBodyPreviewBytes);
  EXPECT_NE(big.body_problem->find("too large"), std::string::npos);
}

TEST(DeadLetterSummaryTest, ABusinessKeyLongerThanItsColumnIsCutSoItCannotPassForARealOne) {
  const std::string long_key(100000, '7');
  const std::string body = R"({"id":9,"messageType":"payresult_notify","businessKey1":")" + long_key +
                           R"(","businessKey2":"60201"})";
  const DeadLetterSummary s = Summarize(Parked(body, "mid-9", "selection-missing", 5), 0);
  ASSERT_TRUE(s.business_key1.has_value());
  EXPECT_LE(s.business_key1->size(), kMaxBusinessKeyBytes + 3);
  EXPECT_EQ(s.business_key1->rfind(std::string(kMaxBusinessKeyBytes - 8, '7'), 0), 0u);
  EXPECT_NE(*s.business_key1, long_key.substr(0, kMaxBusinessKeyBytes));
  EXPECT_EQ(s.business_key2, "60201");
}

TEST(DeadLetterSummaryTest, AForeignMessageWithoutOurHeadersListsWithNulls) {
  amqp::Delivery d;
  d.body = kBody;
  d.headers["x-paynotify-attempts"] = std::string("3");  // digits in a string are read
  d.headers["x-paynotify-reason"] = std::string(5000, 'r');
  const DeadLetterSummary s = Summarize(d, 0);
  EXPECT_FALSE(s.message_id);
  EXPECT_EQ(s.attempts, 3);
  EXPECT_EQ(s.reason->size(), kMaxHeaderText);
  EXPECT_FALSE(s.failed_at);
}

// A quorum main queue dead-letters a message past its x-delivery-limit itself: no header of
// ours, only the broker's x-death (latest death first; as JSON text, see amqp::HeaderValue).
amqp::Delivery BrokerParked(const std::string& x_death, const std::string& first_reason) {
  amqp::Delivery d;
  d.body = kBody;
  d.message_id = "mid-broker";
  d.headers["x-death"] = x_death;
  d.headers["x-first-death-reason"] = first_reason;
  d.headers["x-first-death-queue"] = std::string("learning.paynotify.retry.1");
  d.headers["x-delivery-count"] = int64_t{3};  // the parking queue's count of walks
  return d;
}

TEST(DeadLetterSummaryTest, ABrokerParkedMessageShowsTheLatestDeathsReason) {
  // It went round a retry queue first (expired), then crashed its consumer until the limit.
  const amqp::Delivery d = BrokerParked(
      R"([{"count":1,"reason":"delivery_limit","queue":"learning.paynotify","exchange":""},)"
      R"({"count":1,"reason":"expired","queue":"learning.paynotify.retry.1","exchange":""}])",
      "expired");
  const DeadLetterSummary s = Summarize(d, 0);
  EXPECT_EQ(s.reason, "delivery_limit");
  EXPECT_FALSE(s.attempts);
  EXPECT_EQ(s.business_key1, "42");
  EXPECT_TRUE(Selection{.reason = "delivery_limit"}.Selects(d));
  EXPECT_FALSE(Selection{.reason = "expired"}.Selects(d));
  ReasonCounts counts;
  counts.Add(ParkingReason(d.headers));
  EXPECT_EQ(counts.Counts().at("delivery_limit"), 1u);
  // The replay says why it had been parked, and carries none of the broker's bookkeeping.
  const amqp::OutgoingMessage replay = MakeReplay(d, "learning.paynotify");
  EXPECT_EQ(std::get<std::string>(replay.headers.at(consumer::kLastErrorHeader)), "replay 1 after delivery_limit");
  EXPECT_FALSE(replay.headers.contains("x-death"));
  EXPECT_FALSE(replay.headers.contains("x-first-death-reason"));
  EXPECT_FALSE(replay.headers.contains("x-delivery-count"));
}

TEST(DeadLetterSummaryTest, OurReasonWinsAndAnUnreadableXDeathFallsBackToTheFirstDeath) {
  amqp::Delivery ours = BrokerParked(R"([{"reason":"delivery_limit"}])", "expired");
  ours.headers[consumer::kReasonHeader] = std::string("selection-missing");
  EXPECT_EQ(ParkingReason(ours.headers), "selection-missing");
  // Cut JSON (a huge forged x-death), or not an array of tables: the first death's reason.
  EXPECT_EQ(ParkingReason(BrokerParked(R"([{"reason":"delivery_li)", "delivery_limit").headers), "delivery_limit");
  EXPECT_EQ(ParkingReason(BrokerParked(R"({"reason":"x"})", "rejected").headers), "rejected");
  EXPECT_EQ(ParkingReason(BrokerParked(R"([{"reason":7}])", "rejected").headers), "rejected");
  // A hostile reason is kept raw but bounded (escaped where printed).
  const std::string hostile = "[{\"reason\":\"" + std::string(5000, 'x') + "\\u001b[2J\"}]";
  EXPECT_EQ(ParkingReason(BrokerParked(hostile, "").headers)->size(), kMaxHeaderText);
  EXPECT_FALSE(ParkingReason(amqp::Headers{}).has_value());
}

TEST(SelectionTest, ByIdsByReasonOrAll) {
  const amqp::Delivery a = Parked(kBody, "mid-a", "selection-missing", 5);
  const amqp::Delivery b = Parked(kBody, "mid-b", "malformed-json", 1);
  amqp::Delivery no_id = b;
  no_id.message_id.reset();
  const Selection ids{.message_ids = {"mid-a", "mid-x"}};
  EXPECT_TRUE(ids.Selects(a));
  EXPECT_FALSE(ids.Selects(b));
  EXPECT_FALSE(ids.Selects(no_id));
  const Selection reason{.reason = "malformed-json"};
  EXPECT_FALSE(reason.Selects(a));
  EXPECT_TRUE(reason.Selects(b));
  EXPECT_TRUE(reason.Selects(no_id));
  const Selection all{.all = true};
  EXPECT_TRUE(all.Selects(a));
  EXPECT_TRUE(all.Selects(no_id));
}

TEST(ReplayTest, GoesToTheMainQueueWithBodyIdAndPropertiesKept) {
  const amqp::Delivery parked = Parked(kBody, "mid-3", "selection-missing", 5, 5);
  const amqp::OutgoingMessage replay = MakeReplay(parked, "learning.paynotify");
  EXPECT_EQ(replay.exchange, "");  // default exchange: no copy for the fanout's other subscribers
  EXPECT_EQ(replay.routing_key, "learning.paynotify");
  EXPECT_TRUE(replay.persistent);
  EXPECT_TRUE(replay.mandatory);
  EXPECT_EQ(replay.body, kBody);
  EXPECT_EQ(replay.message_id, "mid-3");
  EXPECT_EQ(replay.content_type, "application/json");
  EXPECT_EQ(replay.type, "payresult_notify");
  EXPECT_EQ(replay.app_id, "order-service");
  EXPECT_EQ(replay.timestamp_s, 1700000000);
}

TEST(ReplayTest, StartsAFreshSetOfAttemptsAndCountsTheReplay) {
  amqp::Delivery parked = Parked(kBody, "mid-4", "selection-missing", 5, 5);
  parked.headers[consumer::kAttemptHeader] = int64_t{5};  // as if a foreign copy kept it
  parked.headers["x-death"] = std::string("[{\"count\":1}]");
  const amqp::OutgoingMessage replay = MakeReplay(parked, "learning.paynotify");
  for (const char* gone : {consumer::kAttemptHeader, consumer::kReasonHeader, consumer::kErrorHeader,
                           consumer::kAttemptsHeader, consumer::kFailedAtHeader, "x-death"}) {
    EXPECT_FALSE(replay.headers.contains(gone)) << gone;
  }
  EXPECT_EQ(std::get<int64_t>(replay.headers.at(consumer::kReplayedHeader)), 1);
  EXPECT_EQ(std::get<std::string>(replay.headers.at(consumer::kLastErrorHeader)),
            "replay 1 after selection-missing: selection 42 does not exist");
  // Where it first came from and the summary of its first headers stay.
  EXPECT_EQ(std::get<std::string>(replay.headers.at(consumer::kOriginalQueueHeader)), "learning.paynotify");
  EXPECT_EQ(std::get<std::string>(replay.headers.at(consumer::kOriginalHeadersHeader)),
            "traceparent=\"00-abc-01\"");

  // The consumer reads it as attempt 1.
  amqp::Delivery arrived;
  arrived.headers = replay.headers;
  EXPECT_EQ(consumer::AttemptOf(arrived), 1);
}

TEST(ReplayTest, TheCountSurvivesBeingParkedAgainAndGrows) {
  const amqp::Delivery parked = Parked(kBody, "mid-5", "selection-missing", 5);
  const amqp::OutgoingMessage first = MakeReplay(parked, "q");
  // The consumer fails it again and parks it: its copy carries the count over.
  amqp::Delivery arrived = consumer::testing::MakeDelivery(kBody, "mid-5");
  arrived.headers = first.headers;
  const amqp::OutgoingMessage parked_again = consumer::MakeDeadLetterCopy(
      arrived, Topology(), consumer::Disposition::DeadLetter("selection-missing", "still missing", 5),
      std::chrono::system_clock::now());
  amqp::Delivery second_parked;
  second_parked.body = parked_again.body;
  second_parked.message_id = parked_again.message_id;
  second_parked.headers = parked_again.headers;
  EXPECT_EQ(Summarize(second_parked, 0).replayed, 1);
  const amqp::OutgoingMessage second = MakeReplay(second_parked, "q");
  EXPECT_EQ(std::get<int64_t>(second.headers.at(consumer::kReplayedHeader)), 2);
}

TEST(ReplayTest, AbsentPropertiesStayAbsentAndHostileErrorsAreBounded) {
  amqp::Delivery parked;
  parked.body = "x";
  parked.headers[consumer::kReasonHeader] = std::string("r");
  parked.headers[consumer::kErrorHeader] = std::string(5000, '\xff');
  parked.headers[consumer::kReplayedHeader] = std::string("nope");
  const amqp::OutgoingMessage replay = MakeReplay(parked, "q");
  EXPECT_EQ(replay.message_id, "");
  EXPECT_EQ(replay.content_type, "");  // not OutgoingMessage's application/json default
  EXPECT_FALSE(replay.timestamp_s);
  EXPECT_EQ(std::get<int64_t>(replay.headers.at(consumer::kReplayedHeader)), 1);
  const auto& why = std::get<std::string>(replay.headers.at(consumer::kLastErrorHeader));
  EXPECT_LE(why.size(), 1000u);
  EXPECT_EQ(why.find('\xff'), std::string::npos);
}

TEST(ReasonCountsTest, CountsPerReasonAndBoundsTheDistinctOnes) {
  ReasonCounts counts;
  counts.Add(std::string("a"));
  counts.Add(std::string("a"));
  counts.Add(std::nullopt);
  EXPECT_EQ(counts.Counts().at("a"), 2u);
  EXPECT_EQ(counts.Counts().at(kNoReason), 1u);
  for (int i = 0; i < 1000; ++i) counts.Add("forged-" + std::to_string(i));
  EXPECT_LE(counts.Counts().size(), kMaxDistinctReasons + 1);
  EXPECT_EQ(counts.Total(), 1003u);
  uint64_t sum = 0;
  for (const auto& [reason, n] : counts.Counts()) sum += n;
  EXPECT_EQ(sum, 1003u);
}

}  // namespace
}  // namespace paynotify::ctl::dlq

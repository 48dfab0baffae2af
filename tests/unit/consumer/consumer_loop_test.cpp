// The consumer loop with a fake handler: the mechanism alone, no service vocabulary. Every
// wait goes through the ManualClock (Sleeps() records it), and Run() returns by itself once
// the fake source is drained, so nothing here sleeps or waits on a thread.
#include "common/consumer/consumer_loop.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/metrics/registry.hpp"
#include "tests/support/consumer_fakes.hpp"

namespace paynotify::consumer {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::Deliveries;
using testing::LoopTopology;
using testing::MakeDelivery;

constexpr const char* kPrefix = "paynotify_test_consumer";

class ConsumerLoopTest : public ::testing::Test {
 protected:
  static ConsumerLoopSettings Settings(size_t batch_size = 1) {
    return ConsumerLoopSettings{5ms, runtime::BackoffPolicy{100ms, 2.0, 1000ms}, batch_size};
  }
  double Counter(const std::string& suffix, metrics::Labels labels = {}) {
    return registry_.GetCounter(std::string(kPrefix) + suffix, "", std::move(labels)).Value();
  }
  std::vector<std::string> What() const { return testing::Render(events_); }
  /// Runs `loop` until the fake source has nothing left.
  void RunUntilDrained(ConsumerLoop& loop) {
    std::stop_source stop;
    source_.stop_when_drained = &stop;
    loop.Run(stop.get_token());
  }
  void Enqueue(std::vector<amqp::Delivery> deliveries) {
    for (auto& d : deliveries) source_.pending.push_back(std::move(d));
  }

  std::vector<testing::Event> events_;
  testing::FakeDeliverySource source_{events_};
  testing::FakeCopyPublisher publisher_{events_};
  testing::FakeHandler handler_;
  runtime::ManualClock clock_;
  metrics::Registry registry_;
  ConsumerMetrics metrics_{registry_, kPrefix};
  ConsumerLoop loop_{source_, publisher_, handler_, LoopTopology(), metrics_, clock_, Settings()};
};

TEST_F(ConsumerLoopTest, AckedDeliveryIsAckedOnce) {
  loop_.Process(MakeDelivery("{}"), {});
  EXPECT_THAT(What(), ElementsAre("ack 7"));
  EXPECT_THAT(handler_.decided, ElementsAre(7u));
  EXPECT_TRUE(publisher_.copies.empty());
}

TEST_F(ConsumerLoopTest, RetryCopyIsConfirmedBeforeTheOriginalIsAcked) {
  handler_.Then(7, Disposition::Retry(1000ms, 2, "deadlock detected"));
  loop_.Process(MakeDelivery("{}"), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.retry.1", "ack 7"));
  ASSERT_EQ(publisher_.copies.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(publisher_.copies[0].headers.at(kAttemptHeader)), 2);
  EXPECT_EQ(std::get<std::string>(publisher_.copies[0].headers.at(kLastErrorHeader)), "deadlock detected");
  EXPECT_EQ(Counter("_retried_total", {{"attempt", "2"}}), 1);
  EXPECT_TRUE(clock_.Sleeps().empty());  // confirmed: no settle back-off
}

TEST_F(ConsumerLoopTest, UnconfirmedCopyRequeuesTheOriginalNeverAcksAndBacksOffOnTheClock) {
  // Neither the dead-letter copy nor its minimal form is confirmed: the broker refuses.
  handler_.Then(7, Disposition::DeadLetter("bad-input", "not json", 1));
  publisher_.confirm = {false, false};
  loop_.Process(MakeDelivery("not json"), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.dlq", "publish:q.dlq", "requeue 7"));
  EXPECT_EQ(Counter("_settle_failures_total", {{"action", "dead-letter"}}), 1);
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "bad-input"}}), 0);
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(100ms));
}

TEST_F(ConsumerLoopTest, SettleBackOffGrowsWhileTheBrokerRefusesAndResetsOnConfirm) {
  handler_.Then(7, Disposition::Retry(1000ms, 2, "e"));
  handler_.Then(7, Disposition::Retry(1000ms, 2, "e"));
  handler_.Then(7, Disposition::Retry(1000ms, 2, "e"));
  handler_.Then(7, Disposition::Retry(1000ms, 2, "e"));
  publisher_.confirm = {false, false, true, false};
  for (int i = 0; i < 4; ++i) loop_.Process(MakeDelivery("{}"), {});
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(100ms, 200ms, 100ms));
  EXPECT_EQ(Counter("_settle_failures_total", {{"action", "retry"}}), 3);
  EXPECT_EQ(Counter("_retried_total", {{"attempt", "2"}}), 1);
}

TEST_F(ConsumerLoopTest, PublisherThatThrowsIsTreatedAsUnconfirmed) {
  handler_.Then(7, Disposition::Retry(1000ms, 2, "deadlock"));
  publisher_.throw_next = true;
  loop_.Process(MakeDelivery("{}"), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.retry.1", "requeue 7"));
  EXPECT_EQ(Counter("_settle_failures_total", {{"action", "retry"}}), 1);
}

TEST_F(ConsumerLoopTest, DeadLetteredDeliveryIsParkedWithItsReasonThenAcked) {
  handler_.Then(7, Disposition::DeadLetter("bad-input", "body: syntax error", 1));
  loop_.Process(MakeDelivery("{oops"), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.dlq", "ack 7"));
  EXPECT_EQ(std::get<std::string>(publisher_.copies[0].headers.at(kReasonHeader)), "bad-input");
  EXPECT_EQ(std::get<std::string>(publisher_.copies[0].headers.at(kErrorHeader)), "body: syntax error");
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "bad-input"}}), 1);
}

TEST_F(ConsumerLoopTest, RefusedDeadLetterCopyIsParkedInMinimalFormAndAcked) {
  handler_.Then(7, Disposition::DeadLetter("bad-input", "not json", 1));
  publisher_.confirm = {false, true};
  loop_.Process(MakeDelivery("not json"), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.dlq", "publish:q.dlq", "ack 7"));
  ASSERT_EQ(publisher_.copies.size(), 2u);
  EXPECT_GT(publisher_.copies[0].headers.size(), 1u);
  ASSERT_EQ(publisher_.copies[1].headers.size(), 1u);
  EXPECT_EQ(std::get<std::string>(publisher_.copies[1].headers.at(kReasonHeader)), "bad-input");
  EXPECT_EQ(publisher_.copies[1].body, "not json");
  EXPECT_EQ(Counter("_parked_minimal_total"), 1);
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "bad-input"}}), 1);
  EXPECT_EQ(Counter("_settle_failures_total", {{"action", "dead-letter"}}), 0);
}

TEST_F(ConsumerLoopTest, DeadLetterReasonLabelsAreTheHandlersFixedSetElseOther) {
  handler_.Then(1, Disposition::DeadLetter("too-large", "big", 1));
  handler_.Then(2, Disposition::DeadLetter("made-up\nby a message", "x", 1));
  handler_.Then(3, Disposition::DeadLetter(std::string(reason::kRetriesExhausted), "x", 3));
  for (const amqp::Delivery& d : Deliveries(3)) loop_.Process(d, {});
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "too-large"}}), 1);
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "other"}}), 1);
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "retries-exhausted"}}), 1);
  // The header keeps what the handler said; only the label is bounded.
  EXPECT_EQ(std::get<std::string>(publisher_.copies[1].headers.at(kReasonHeader)), "made-up\nby a message");
}

TEST_F(ConsumerLoopTest, PauseHoldsTheDeliveryAsksAgainAfterEachDelayAndCountsPausesTruly) {
  handler_.Then(7, Disposition::Pause(500ms, "database unavailable: connection refused"));
  handler_.Then(7, Disposition::Pause(1000ms, "database unavailable: connection refused"));
  loop_.Process(MakeDelivery("{}"), {});
  EXPECT_THAT(What(), ElementsAre("ack 7"));  // no copy: a pause uses no attempt
  EXPECT_THAT(handler_.decided, ElementsAre(7u, 7u, 7u));
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(500ms, 1000ms));  // on the clock, not in real time
  EXPECT_FALSE(loop_.Paused());
  EXPECT_EQ(Counter("_pauses_total"), 1);         // one pause...
  EXPECT_EQ(Counter("_pause_retries_total"), 2);  // ...that waited twice
}

TEST_F(ConsumerLoopTest, StopDuringAPauseRequeuesTheHeldDelivery) {
  handler_.Then(7, Disposition::Pause(500ms, "down"));
  std::stop_source stop;
  stop.request_stop();
  loop_.Process(MakeDelivery("{}"), stop.get_token());
  EXPECT_THAT(What(), ElementsAre("requeue 7"));
  EXPECT_TRUE(loop_.Paused());
  EXPECT_FALSE(loop_.Ready());
}

TEST_F(ConsumerLoopTest, BatchIsDecidedOnceAndAckedWithOneMultipleAck) {
  loop_.ProcessBatch(Deliveries(3), {});
  ASSERT_EQ(handler_.batches.size(), 1u);
  EXPECT_THAT(handler_.batches[0], ElementsAre(1u, 2u, 3u));
  EXPECT_TRUE(handler_.decided.empty());
  EXPECT_THAT(What(), ElementsAre("ack-through 3"));
  EXPECT_EQ(Counter("_batch_fallbacks_total"), 0);
}

TEST_F(ConsumerLoopTest, CopiesInABatchAreSettledBeforeTheMultipleAckThatComesLast) {
  handler_.Then(2, Disposition::DeadLetter("bad-input", "x", 1));
  handler_.Then(3, Disposition::Retry(1000ms, 2, "not yet"));
  publisher_.confirm = {true, false};  // the retry copy is not confirmed
  loop_.ProcessBatch(Deliveries(4), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.dlq", "ack 2", "publish:q.retry.1", "requeue 3", "ack-through 4"));
  EXPECT_EQ(Counter("_settle_failures_total", {{"action", "retry"}}), 1);
  EXPECT_EQ(Counter("_dead_lettered_total", {{"reason", "bad-input"}}), 1);
}

TEST_F(ConsumerLoopTest, FailedBatchFallsBackToOneByOneAndParksOnlyTheBadDelivery) {
  handler_.fail_batches = 1;
  handler_.Then(2, Disposition::DeadLetter("bad-input", "x", 1));
  loop_.ProcessBatch(Deliveries(3), {});
  EXPECT_EQ(handler_.batches.size(), 1u);
  EXPECT_THAT(handler_.decided, ElementsAre(1u, 2u, 3u));
  EXPECT_THAT(What(), ElementsAre("ack 1", "publish:q.dlq", "ack 2", "ack 3"));
  EXPECT_EQ(Counter("_batch_fallbacks_total"), 1);
}

TEST_F(ConsumerLoopTest, HandlerAnsweringTheWrongNumberOfDispositionsFallsBackToOneByOne) {
  handler_.short_answer = true;
  loop_.ProcessBatch(Deliveries(3), {});
  EXPECT_THAT(What(), ElementsAre("ack 1", "ack 2", "ack 3"));
  EXPECT_EQ(Counter("_batch_fallbacks_total"), 1);
}

TEST_F(ConsumerLoopTest, PauseDuringAFallbackHoldsTheBatchThenSettlesEverything) {
  handler_.fail_batches = 1;
  handler_.Then(1, Disposition::Pause(500ms, "down"));
  loop_.ProcessBatch(Deliveries(3), {});
  EXPECT_THAT(What(), ElementsAre("ack 1", "ack 2", "ack 3"));
  EXPECT_TRUE(publisher_.copies.empty());
  EXPECT_FALSE(loop_.Paused());
}

TEST_F(ConsumerLoopTest, StopDuringAPauseInABatchRequeuesEveryDeliveryOfIt) {
  handler_.fail_batches = 1;
  handler_.Then(1, Disposition::Pause(500ms, "down"));
  std::stop_source stop;
  stop.request_stop();
  loop_.ProcessBatch(Deliveries(3), stop.get_token());
  EXPECT_THAT(What(), ElementsAre("requeue 1", "requeue 2", "requeue 3"));
}

TEST_F(ConsumerLoopTest, RunConsumesUntilStoppedAndSurvivesALostConnection) {
  source_.fail_next = true;
  Enqueue(Deliveries(2));
  RunUntilDrained(loop_);
  EXPECT_THAT(What(), ElementsAre("ack 1", "ack 2"));
  EXPECT_EQ(Counter("_consumed_total"), 2);
  EXPECT_EQ(Counter("_loop_errors_total", {{"kind", "broker"}}), 1);
  EXPECT_EQ(Counter("_loop_errors_total", {{"kind", "unexpected"}}), 0);
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(100ms));  // the reconnect back-off, on the clock
  EXPECT_TRUE(loop_.BrokerConnected());
  EXPECT_GT(publisher_.maintained, 0);
  EXPECT_EQ(source_.timeouts.front(), 5ms);  // the poll interval
}

TEST_F(ConsumerLoopTest, AFailedAckIsABrokerLossNotAnUnexpectedError) {
  source_.fail_acks = 1;
  Enqueue(Deliveries(1));
  RunUntilDrained(loop_);
  EXPECT_TRUE(What().empty());  // the ack failed; the broker redelivers
  EXPECT_EQ(Counter("_loop_errors_total", {{"kind", "broker"}}), 1);
  EXPECT_EQ(Counter("_loop_errors_total", {{"kind", "unexpected"}}), 0);
}

TEST_F(ConsumerLoopTest, UnexpectedErrorDropsTheConnectionSoHeldDeliveriesAreRedelivered) {
  handler_.throw_on_tag = 1;
  Enqueue(Deliveries(2));
  RunUntilDrained(loop_);
  // Delivery 1 was never settled: dropping the connection hands it back to the broker.
  EXPECT_THAT(What(), ElementsAre("drop", "ack 2"));
  EXPECT_EQ(Counter("_loop_errors_total", {{"kind", "unexpected"}}), 1);
  EXPECT_EQ(Counter("_loop_errors_total", {{"kind", "broker"}}), 0);
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(100ms));
  EXPECT_TRUE(loop_.BrokerConnected());  // reconnected by the next Next()
}

TEST_F(ConsumerLoopTest, RunBatchesOnlyWhatHasArrivedUpToTheBatchSize) {
  ConsumerLoop loop{source_, publisher_, handler_, LoopTopology(), metrics_, clock_, Settings(/*batch_size=*/2)};
  Enqueue(Deliveries(3));
  RunUntilDrained(loop);
  ASSERT_EQ(handler_.batches.size(), 1u);
  EXPECT_THAT(handler_.batches[0], ElementsAre(1u, 2u));
  EXPECT_THAT(handler_.decided, ElementsAre(3u));  // alone: a batch of one
  EXPECT_THAT(What(), ElementsAre("ack-through 2", "ack 3"));
  EXPECT_EQ(Counter("_consumed_total"), 3);
}

TEST_F(ConsumerLoopTest, OversizedBodyEndsItsBatch) {
  // A batch holds at most one body over the limit: memory stays bounded by the limit.
  ConsumerLoop loop{source_, publisher_, handler_, LoopTopology(), metrics_, clock_, Settings(/*batch_size=*/5)};
  std::vector<amqp::Delivery> deliveries = Deliveries(4);
  deliveries[1].body += std::string(handler_.MaxBodyBytes(), ' ');
  Enqueue(std::move(deliveries));
  RunUntilDrained(loop);
  ASSERT_EQ(handler_.batches.size(), 2u);
  EXPECT_THAT(handler_.batches[0], ElementsAre(1u, 2u));  // message 2 (too large) ended the batch
  EXPECT_THAT(handler_.batches[1], ElementsAre(3u, 4u));
}

TEST(ConsumerMetricsTest, NamesCarryTheDaemonsPrefix) {
  metrics::Registry registry;
  ConsumerMetrics metrics(registry, "paynotify_learning");
  metrics.Consumed();
  metrics.PauseEntered();
  metrics.PauseRetry();
  metrics.LoopError("broker");
  const std::string text = registry.Render();
  EXPECT_NE(text.find("paynotify_learning_consumed_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("paynotify_learning_pauses_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("paynotify_learning_pause_retries_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("paynotify_learning_loop_errors_total{kind=\"broker\"} 1"), std::string::npos) << text;
  EXPECT_EQ(text.find("paynotify_learning_paused_total"), std::string::npos) << text;  // the old, misleading name
}

}  // namespace
}  // namespace paynotify::consumer

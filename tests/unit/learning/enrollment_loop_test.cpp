// EnrollmentHandler inside the generic consumer loop (common/consumer), with the loop's fake
// source and publisher (tests/support/consumer_fakes.hpp) and a fake repository: how
// learning's policy and the mechanism work together (batches, fallbacks, outages, parking)
// under the metric names dashboards know. What the loop does whatever the handler says
// (e.g. parking a refused dead-letter copy in minimal form) is tested once, with a fake
// handler, in tests/unit/consumer. Waits go through the ManualClock and Run() returns once
// the fake source is drained: nothing sleeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/consumer/consumer_loop.hpp"
#include "common/metrics/registry.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"
#include "tests/support/consumer_fakes.hpp"
#include "tests/unit/learning/fakes.hpp"

namespace paynotify::learning {
namespace {

using namespace std::chrono_literals;
using consumer::ConsumerLoop;
using consumer::ConsumerLoopSettings;
using consumer::kAttemptHeader;
using consumer::kReasonHeader;
using consumer::testing::LoopTopology;
using ::testing::ElementsAre;
using testing::FakeEnrollmentRepository;
using testing::MakeDelivery;
using testing::MakeDeliveryTagged;
using testing::PaymentBody;

class ConsumerLoopTest : public ::testing::Test {
 protected:
  double CounterValue(const std::string& name, metrics::Labels labels = {}) {
    return registry_.GetCounter(name, "", std::move(labels)).Value();
  }
  /// Deliveries tagged 1..n, each paying for its own selection (businessKey1 = tag).
  std::vector<amqp::Delivery> Payments(int n) {
    std::vector<amqp::Delivery> batch;
    for (int i = 1; i <= n; ++i) batch.push_back(MakeDeliveryTagged(i, PaymentBody("\"" + std::to_string(i) + "\"")));
    return batch;
  }
  std::vector<std::string> What() const { return consumer::testing::Render(events_); }
  /// Runs `loop` until the fake source has nothing left.
  void RunUntilDrained(ConsumerLoop& loop) {
    std::stop_source stop;
    source_.stop_when_drained = &stop;
    loop.Run(stop.get_token());
  }

  std::vector<consumer::testing::Event> events_;
  consumer::testing::FakeDeliverySource source_{events_};
  consumer::testing::FakeCopyPublisher publisher_{events_};
  FakeEnrollmentRepository repo_;
  runtime::ManualClock clock_;  // pause and settle back-off wait on it, not in real time
  metrics::Registry registry_;
  consumer::ConsumerMetrics loop_metrics_{registry_, "paynotify_learning"};
  EnrollmentMetrics metrics_{registry_};
  EnrollmentHandler handler_{repo_, metrics_, LoopTopology().retry, runtime::BackoffPolicy{1000ms, 2.0, 2000ms}, clock_};
  ConsumerLoop loop_{source_, publisher_, handler_, LoopTopology(), loop_metrics_, clock_,
                     ConsumerLoopSettings{5ms, runtime::BackoffPolicy{1000ms, 2.0, 2000ms}}};
};

TEST_F(ConsumerLoopTest, AppliedMessageIsAckedAndCounted) {
  loop_.Process(MakeDelivery(PaymentBody()), {});
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].what, "ack");
  EXPECT_EQ(events_[0].tag, 7u);
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
}

TEST_F(ConsumerLoopTest, RetryCopyIsConfirmedBeforeTheOriginalIsAcked) {
  repo_.ThenThrow(FailureKind::kTransient, "deadlock detected");
  loop_.Process(MakeDelivery(PaymentBody()), {});
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].what, "publish:q.retry.1");
  EXPECT_EQ(events_[1].what, "ack");
  ASSERT_EQ(publisher_.copies.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(publisher_.copies[0].headers.at(kAttemptHeader)), 2);
  EXPECT_EQ(CounterValue("paynotify_learning_retried_total", {{"attempt", "2"}}), 1);
}

TEST_F(ConsumerLoopTest, UnconfirmedCopyRequeuesTheOriginalAndNeverAcks) {
  // Neither the dead-letter copy nor its minimal form is confirmed: the broker refuses.
  publisher_.confirm = {false, false};
  loop_.Process(MakeDelivery("not json"), {});
  EXPECT_THAT(What(), ElementsAre("publish:q.dlq", "publish:q.dlq", "requeue 7"));
  EXPECT_EQ(CounterValue("paynotify_learning_settle_failures_total", {{"action", "dead-letter"}}), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "malformed-json"}}), 0);
}

TEST_F(ConsumerLoopTest, MalformedMessageIsDeadLetteredWithReasonThenAcked) {
  loop_.Process(MakeDelivery("{oops"), {});
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].what, "publish:q.dlq");
  EXPECT_EQ(events_[1].what, "ack");
  EXPECT_EQ(std::get<std::string>(publisher_.copies[0].headers.at(kReasonHeader)), "malformed-json");
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "malformed-json"}}), 1);
}

TEST_F(ConsumerLoopTest, DatabaseOutageHoldsTheMessageAndAppliesItWhenBack) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  loop_.Process(MakeDelivery(PaymentBody()), {});
  ASSERT_EQ(events_.size(), 1u);  // no retry copy: no attempt used up
  EXPECT_EQ(events_[0].what, "ack");
  EXPECT_EQ(repo_.calls.size(), 3u);
  EXPECT_FALSE(loop_.Paused());
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_pauses_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_pause_retries_total"), 2);
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(1000ms, 2000ms));  // the pause back-off, on the clock
}

TEST_F(ConsumerLoopTest, StopDuringOutageRequeuesTheHeldMessage) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  std::stop_source stop;
  stop.request_stop();
  loop_.Process(MakeDelivery(PaymentBody()), stop.get_token());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].what, "requeue");
  EXPECT_EQ(events_[0].tag, 7u);
}

TEST_F(ConsumerLoopTest, RunConsumesUntilStoppedAndSurvivesALostConnection) {
  source_.fail_next = true;
  source_.pending.push_back(MakeDelivery(PaymentBody("\"1\"")));
  source_.pending.push_back(MakeDelivery(PaymentBody("\"2\"", "\"60202\"")));
  RunUntilDrained(loop_);
  EXPECT_EQ(CounterValue("paynotify_learning_ignored_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_loop_errors_total", {{"kind", "broker"}}), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_consumed_total"), 2);
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
  EXPECT_TRUE(loop_.BrokerConnected());
}

TEST_F(ConsumerLoopTest, BatchIsAppliedInOneTransactionAndAckedWithOneMultipleAck) {
  loop_.ProcessBatch(Payments(3), {});
  ASSERT_EQ(repo_.batches.size(), 1u);
  EXPECT_EQ(repo_.batches[0].size(), 3u);
  EXPECT_THAT(What(), ElementsAre("ack-through 3"));
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 3);
  EXPECT_EQ(CounterValue("paynotify_learning_batch_fallbacks_total"), 0);
}

TEST_F(ConsumerLoopTest, CopiesInABatchAreSettledBeforeTheMultipleAckThatComesLast) {
  std::vector<amqp::Delivery> batch = Payments(4);
  batch[1].body = "not json";                                  // tag 2: dead-letter
  repo_.Then(ApplyResult::kApplied);                           // tag 1
  repo_.Then(ApplyResult::kSelectionMissing);                  // tag 3: retry
  batch[3].body = PaymentBody("\"4\"", "\"60202\"");           // tag 4: ignored (materials)
  publisher_.confirm = {true, false};                          // the retry copy is not confirmed
  loop_.ProcessBatch(batch, {});
  EXPECT_THAT(What(), ElementsAre("publish:q.dlq", "ack 2", "publish:q.retry.1", "requeue 3", "ack-through 4"));
  ASSERT_EQ(repo_.batches.size(), 1u);
  EXPECT_EQ(repo_.batches[0].size(), 2u);  // only the two that need applying
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_ignored_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_settle_failures_total", {{"action", "retry"}}), 1);
}

TEST_F(ConsumerLoopTest, SameMessageTwiceInOneBatchIsAppliedOnce) {
  std::vector<amqp::Delivery> batch = Payments(2);
  batch[1].message_id = batch[0].message_id;  // e.g. published again after a lost confirm
  batch[1].body = batch[0].body;
  loop_.ProcessBatch(batch, {});
  EXPECT_THAT(What(), ElementsAre("ack-through 2"));
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_duplicates_total"), 1);
}

TEST_F(ConsumerLoopTest, FailedBatchFallsBackToOneByOneAndParksOnlyTheBadMessage) {
  repo_.poison_keys = {"message-2"};
  loop_.ProcessBatch(Payments(3), {});
  // The batch rolled back; then each alone: 1 and 3 applied, 2 parked with its reason.
  ASSERT_EQ(repo_.batches.size(), 4u);
  EXPECT_EQ(repo_.batches[0].size(), 3u);
  EXPECT_THAT(What(), ElementsAre("ack 1", "publish:q.dlq", "ack 2", "ack 3"));
  EXPECT_EQ(std::get<std::string>(publisher_.copies[0].headers.at(kReasonHeader)), "apply-failed");
  EXPECT_THAT(repo_.applied_keys, ElementsAre("message-1", "message-3"));
  EXPECT_EQ(CounterValue("paynotify_learning_batch_fallbacks_total"), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 2);
}

TEST_F(ConsumerLoopTest, DatabaseOutageDuringABatchHoldsItThenAppliesEverything) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");  // the batch
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");  // message 1 alone: pause
  loop_.ProcessBatch(Payments(3), {});
  EXPECT_THAT(What(), ElementsAre("ack 1", "ack 2", "ack 3"));
  EXPECT_THAT(repo_.applied_keys, ElementsAre("message-1", "message-2", "message-3"));
  EXPECT_EQ(publisher_.copies.size(), 0u);  // no retry copies: an outage uses no attempt
  EXPECT_FALSE(loop_.Paused());
}

TEST_F(ConsumerLoopTest, StopDuringAnOutageInABatchRequeuesEveryMessageOfIt) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  std::stop_source stop;
  stop.request_stop();
  loop_.ProcessBatch(Payments(3), stop.get_token());
  EXPECT_THAT(What(), ElementsAre("requeue 1", "requeue 2", "requeue 3"));
  EXPECT_TRUE(repo_.applied_keys.empty());
}

TEST_F(ConsumerLoopTest, RunBatchesOnlyWhatHasArrivedUpToTheBatchSize) {
  ConsumerLoop loop{source_, publisher_, handler_, LoopTopology(), loop_metrics_, clock_,
                    ConsumerLoopSettings{5ms, runtime::BackoffPolicy{1000ms, 2.0, 2000ms}, /*batch_size=*/2}};
  for (amqp::Delivery& d : Payments(3)) source_.pending.push_back(std::move(d));
  RunUntilDrained(loop);
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 3);
  ASSERT_EQ(repo_.batches.size(), 2u);
  EXPECT_EQ(repo_.batches[0].size(), 2u);
  EXPECT_EQ(repo_.batches[1].size(), 1u);
  EXPECT_THAT(What(), ElementsAre("ack-through 2", "ack 3"));
}

// --- hostile messages (issue 10) ------------------------------------------------------------

TEST_F(ConsumerLoopTest, OversizedBodyEndsItsBatch) {
  // A batch holds at most one body over the limit: memory stays bounded by the limit.
  ConsumerLoop loop{source_, publisher_, handler_, LoopTopology(), loop_metrics_, clock_,
                    ConsumerLoopSettings{5ms, runtime::BackoffPolicy{1000ms, 2.0, 2000ms}, /*batch_size=*/5}};
  std::vector<amqp::Delivery> deliveries = Payments(4);
  deliveries[1].body += std::string(handler_.MaxBodyBytes(), ' ');
  for (amqp::Delivery& d : deliveries) source_.pending.push_back(std::move(d));
  RunUntilDrained(loop);
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 3);
  ASSERT_EQ(repo_.batches.size(), 2u);
  EXPECT_EQ(repo_.batches[0].size(), 1u);  // message 1; message 2 (too large) ended the batch
  EXPECT_EQ(repo_.batches[1].size(), 2u);  // messages 3 and 4
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "too-large"}}), 1);
}

TEST_F(ConsumerLoopTest, DeadLetterReasonsOfLearningAreLabelsNotOther) {
  repo_.poison_keys = {"message-3"};
  std::vector<amqp::Delivery> parked = Payments(3);
  parked[0].body = "not json";                              // malformed-json
  parked[1].body = PaymentBody("\"x\"");                    // non-numeric-business-key1
  for (const amqp::Delivery& d : parked) loop_.Process(d, {});  // 3: apply-failed
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "malformed-json"}}), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "non-numeric-business-key1"}}), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "apply-failed"}}), 1);
  EXPECT_EQ(CounterValue("paynotify_learning_dead_lettered_total", {{"reason", "other"}}), 0);
}

}  // namespace
}  // namespace paynotify::learning

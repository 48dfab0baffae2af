#include "learning-service/consumer/consumer_loop.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <thread>

#include "common/metrics/registry.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/learning/fakes.hpp"

namespace paynotify::learning {
namespace {

using namespace std::chrono_literals;
using testing::FakeEnrollmentRepository;
using testing::MakeDelivery;
using testing::PaymentBody;

struct Event {
  std::string what;  // "ack", "requeue", "publish:<routing key>"
  uint64_t tag = 0;
};

class FakeDeliverySource : public DeliverySource {
 public:
  explicit FakeDeliverySource(std::vector<Event>& log) : log_(log) {}
  std::optional<Delivery> Next(std::chrono::milliseconds) override {
    if (fail_next) {
      fail_next = false;
      throw std::runtime_error("socket closed");
    }
    if (pending.empty()) return std::nullopt;
    Delivery d = pending.front();
    pending.pop_front();
    return d;
  }
  void Ack(uint64_t tag) override { log_.push_back({"ack", tag}); }
  void Requeue(uint64_t tag) override { log_.push_back({"requeue", tag}); }

  std::deque<Delivery> pending;
  bool fail_next = false;

 private:
  std::vector<Event>& log_;
};

class FakeCopyPublisher : public CopyPublisher {
 public:
  explicit FakeCopyPublisher(std::vector<Event>& log) : log_(log) {}
  bool PublishConfirmed(const OutgoingCopy& copy) override {
    log_.push_back({"publish:" + copy.routing_key, 0});
    copies.push_back(copy);
    if (!confirm.empty()) {
      bool c = confirm.front();
      confirm.pop_front();
      return c;
    }
    return true;
  }
  std::deque<bool> confirm;
  std::vector<OutgoingCopy> copies;

 private:
  std::vector<Event>& log_;
};

class ConsumerLoopTest : public ::testing::Test {
 protected:
  ConsumerTopology Topology() {
    ConsumerTopology t;
    t.exchange = "ex";
    t.queue = "q";
    t.dead_letter_queue = "q.dlq";
    t.retry.backoff = {1000ms, 2.0, 30000ms};
    t.retry.max_attempts = 3;
    return t;
  }
  double CounterValue(const std::string& name, metrics::Labels labels = {}) {
    return registry_.GetCounter(name, "", std::move(labels)).Value();
  }

  std::vector<Event> events_;
  FakeDeliverySource source_{events_};
  FakeCopyPublisher publisher_{events_};
  FakeEnrollmentRepository repo_;
  runtime::ManualClock clock_;
  metrics::Registry registry_;
  ConsumerMetrics metrics_{registry_};
  // Tiny pause/settle back-off so tests that wait do not take long in real time.
  EnrollmentHandler handler_{repo_, Topology().retry, runtime::BackoffPolicy{1ms, 2.0, 2ms}, clock_};
  ConsumerLoop loop_{source_, publisher_, handler_, Topology(), metrics_, clock_,
                     ConsumerLoopSettings{5ms, runtime::BackoffPolicy{1ms, 2.0, 2ms}}};
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
  publisher_.confirm.push_back(false);
  loop_.Process(MakeDelivery("not json"), {});
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].what, "publish:q.dlq");
  EXPECT_EQ(events_[1].what, "requeue");
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
  EXPECT_FALSE(loop_.DatabasePaused());
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
}

TEST_F(ConsumerLoopTest, StopDuringOutageRequeuesTheHeldMessage) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  std::stop_source stop;
  stop.request_stop();
  loop_.Process(MakeDelivery(PaymentBody()), stop.get_token());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].what, "requeue");
}

TEST_F(ConsumerLoopTest, RunConsumesUntilStoppedAndSurvivesALostConnection) {
  source_.fail_next = true;
  source_.pending.push_back(MakeDelivery(PaymentBody("\"1\"")));
  source_.pending.push_back(MakeDelivery(PaymentBody("\"2\"", "\"60202\"")));
  std::stop_source stop;
  std::jthread worker([&](std::stop_token) { loop_.Run(stop.get_token()); });
  ASSERT_TRUE(paynotify::testing::WaitFor([&] { return CounterValue("paynotify_learning_ignored_total") == 1; },
                                          5s));
  stop.request_stop();
  worker.join();
  EXPECT_EQ(CounterValue("paynotify_learning_consumed_total"), 2);
  EXPECT_EQ(CounterValue("paynotify_learning_applied_total"), 1);
  EXPECT_TRUE(loop_.BrokerConnected());
}

}  // namespace
}  // namespace paynotify::learning

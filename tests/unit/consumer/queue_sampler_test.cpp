// QueueSampler against a fake probe on a ManualClock: samples every queue each round, sets
// the gauge per role, reports a failed sample as unknown (never 0), and samples on schedule.
#include "common/consumer/queue_sampler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <stop_token>
#include <string>

namespace paynotify::consumer {
namespace {

using namespace std::chrono_literals;

class FakeQueueProbe final : public QueueProbe {
 public:
  uint64_t ReadyMessages(const std::string& queue) override {
    ++calls;
    if (fail) throw std::runtime_error("broker away");
    return depth.at(queue);
  }
  std::map<std::string, uint64_t> depth;
  bool fail = false;
  int calls = 0;
};

class QueueSamplerTest : public ::testing::Test {
 protected:
  QueueSampler MakeSampler(std::chrono::milliseconds interval = 5s) {
    return QueueSampler(probe_, {{"main", "svc.q"}, {"dead-letter", "svc.q.dlq"}}, interval, registry_,
                        "paynotify_test_queue_messages", clock_);
  }
  double Gauge(const std::string& role) {
    return registry_.GetGauge("paynotify_test_queue_messages", "", {{"queue", role}}).Value();
  }

  FakeQueueProbe probe_;
  metrics::Registry registry_;
  runtime::ManualClock clock_;
};

TEST_F(QueueSamplerTest, UnknownBeforeTheFirstSample) {
  QueueSampler sampler = MakeSampler();
  EXPECT_FALSE(sampler.Last("main").messages);
  EXPECT_FALSE(sampler.Last("main").sampled_at);
  EXPECT_FALSE(sampler.Last("no-such-role").messages);
  EXPECT_EQ(probe_.calls, 0) << "constructing must not touch the broker";
}

TEST_F(QueueSamplerTest, SamplesEveryQueueIntoLastAndTheGauge) {
  QueueSampler sampler = MakeSampler();
  probe_.depth = {{"svc.q", 42}, {"svc.q.dlq", 3}};
  sampler.SampleOnce();
  EXPECT_EQ(sampler.Last("main").messages, 42u);
  EXPECT_EQ(sampler.Last("dead-letter").messages, 3u);
  EXPECT_EQ(sampler.Last("main").sampled_at, clock_.Now());
  EXPECT_EQ(Gauge("main"), 42);
  EXPECT_EQ(Gauge("dead-letter"), 3);
  EXPECT_NE(registry_.Render().find("paynotify_test_queue_messages{queue=\"main\"} 42\n"), std::string::npos);
}

TEST_F(QueueSamplerTest, AFailedSampleIsUnknownNotZero) {
  QueueSampler sampler = MakeSampler();
  probe_.depth = {{"svc.q", 7}, {"svc.q.dlq", 0}};
  sampler.SampleOnce();
  probe_.fail = true;
  clock_.Advance(5s);
  sampler.SampleOnce();  // must not throw
  EXPECT_FALSE(sampler.Last("main").messages);
  EXPECT_EQ(sampler.Last("main").sampled_at, clock_.Now());
  EXPECT_EQ(Gauge("main"), 7) << "the gauge keeps its last value";
  probe_.fail = false;
  probe_.depth["svc.q"] = 1;
  sampler.SampleOnce();
  EXPECT_EQ(sampler.Last("main").messages, 1u);
}

TEST_F(QueueSamplerTest, RunSamplesOncePerIntervalUntilStopped) {
  QueueSampler sampler = MakeSampler(5s);
  probe_.depth = {{"svc.q", 1}, {"svc.q.dlq", 0}};
  std::stop_source stop;
  // ManualClock::SleepFor advances the clock without blocking: stop after the fourth round.
  struct StopAfter final : QueueProbe {
    FakeQueueProbe& inner;
    std::stop_source& stop;
    StopAfter(FakeQueueProbe& i, std::stop_source& s) : inner(i), stop(s) {}
    uint64_t ReadyMessages(const std::string& queue) override {
      if (inner.calls == 7) stop.request_stop();
      return inner.ReadyMessages(queue);
    }
  } probe(probe_, stop);
  QueueSampler run(probe, {{"main", "svc.q"}, {"dead-letter", "svc.q.dlq"}}, 5s, registry_,
                   "paynotify_test_queue_messages", clock_);
  const auto start = clock_.Now();
  run.Run(stop.get_token());
  EXPECT_EQ(probe_.calls, 8);  // 4 rounds x 2 queues
  EXPECT_EQ(clock_.Now() - start, 15s) << "three full waits between four rounds; the last wait ends at the stop";
}

TEST_F(QueueSamplerTest, RefusesANonPositiveInterval) {
  EXPECT_THROW(MakeSampler(0ms), std::invalid_argument);
}

}  // namespace
}  // namespace paynotify::consumer

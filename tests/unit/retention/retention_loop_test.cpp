// The retention loop against a fake deleter and a manual clock: batches, the pause between
// full batches, the idle cadence, back-off on errors (logged once), and stopping. No threads
// except where the test is about stopping a loop that waits; no real sleeps.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <deque>
#include <sstream>
#include <functional>
#include <stdexcept>
#include <thread>
#include <variant>

#include "common/log/log.hpp"
#include "common/metrics/registry.hpp"
#include "common/retention/retention_loop.hpp"
#include "common/runtime/clock.hpp"

namespace paynotify::retention {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

/// Scripted results, one per DeleteBatch: a row count or an error. After the script, `then`
/// (0 rows unless set). Records every call's arguments; may request stop after N calls.
class FakeDeleter final : public BatchDeleter {
 public:
  using Result = std::variant<size_t, std::string>;  // rows deleted, or an error message

  size_t DeleteBatch(std::chrono::milliseconds older_than, size_t limit) override {
    calls.push_back({older_than, limit});
    if (stop_after && calls.size() >= stop_after) stop.request_stop();
    if (script.empty()) return then;
    Result r = script.front();
    script.pop_front();
    if (auto* error = std::get_if<std::string>(&r)) throw std::runtime_error(*error);
    return std::get<size_t>(r);
  }

  struct Call {
    std::chrono::milliseconds older_than;
    size_t limit;
  };
  std::deque<Result> script;
  size_t then = 0;
  std::vector<Call> calls;
  size_t stop_after = 0;
  std::stop_source stop;
};

/// The "retention" logger's warnings and infos, one string each, while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_formatter(std::make_unique<spdlog::pattern_formatter>("%l %v\x1E", spdlog::pattern_time_type::utc, ""));
    log::Get("retention")->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = log::Get("retention")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::vector<std::string> Lines(const std::string& containing) const {
    std::vector<std::string> lines;
    const std::string text = out_.str();
    size_t start = 0;
    for (size_t end; (end = text.find('\x1E', start)) != std::string::npos; start = end + 1) {
      std::string line = text.substr(start, end - start);
      if (line.find(containing) != std::string::npos) lines.push_back(std::move(line));
    }
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

RetentionSettings Settings() {
  RetentionSettings s;
  s.retention = 14 * 24h;
  s.batch_size = 100;
  s.batch_pause = 50ms;
  s.idle_interval = 60s;
  s.backoff = {500ms, 2.0, 4000ms};
  return s;
}

class RetentionLoopTest : public ::testing::Test {
 protected:
  metrics::Registry registry_;
  RetentionMetrics metrics_{registry_, "inbox"};
  runtime::ManualClock clock_;
  FakeDeleter deleter_;

  RetentionLoop Loop(RetentionSettings s = Settings()) { return RetentionLoop("inbox", deleter_, s, metrics_, clock_); }
};

TEST_F(RetentionLoopTest, EachBatchAsksForTheRetentionAndTheBatchSize) {
  RetentionLoop loop = Loop();
  loop.Step();
  ASSERT_EQ(deleter_.calls.size(), 1u);
  EXPECT_EQ(deleter_.calls[0].older_than, 14 * 24h);
  EXPECT_EQ(deleter_.calls[0].limit, 100u);
}

TEST_F(RetentionLoopTest, FullBatchesArePacedByThePauseAndAShortOneEndsThePass) {
  deleter_.script = {size_t{100}, size_t{100}, size_t{37}, size_t{0}};
  deleter_.stop_after = 4;
  RetentionLoop loop = Loop();
  loop.Run(deleter_.stop.get_token());
  // full, full -> pause; 37 < 100 -> idle; 0 -> stop was requested during the 4th call
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(50ms, 50ms, 60s));
  EXPECT_EQ(metrics_.deleted_rows.Value(), 237);
  EXPECT_EQ(metrics_.batches.Value(), 4);
  EXPECT_EQ(metrics_.errors.Value(), 0);
}

TEST_F(RetentionLoopTest, NothingToDeleteWaitsTheIdleInterval) {
  deleter_.then = 0;
  deleter_.stop_after = 3;
  RetentionLoop loop = Loop();
  loop.Run(deleter_.stop.get_token());
  EXPECT_EQ(deleter_.calls.size(), 3u);
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(60s, 60s));
  EXPECT_EQ(metrics_.deleted_rows.Value(), 0);
  EXPECT_EQ(metrics_.batches.Value(), 3);
}

TEST_F(RetentionLoopTest, ABatchOfExactlyTheLimitIsFullSoTheNextComesAfterThePause) {
  RetentionLoop loop = Loop();
  deleter_.script = {size_t{100}, size_t{99}};
  EXPECT_EQ(loop.Step(), 50ms);
  EXPECT_EQ(loop.Step(), 60s);
}

TEST_F(RetentionLoopTest, ErrorsBackOffExponentiallyCappedAndASuccessResetsTheBackOff) {
  deleter_.script = {std::string("down"), std::string("down"), std::string("down"), std::string("down"),
                     std::string("down"), size_t{100}, size_t{3}, std::string("down again")};
  RetentionLoop loop = Loop();
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 8; ++i) waits.push_back(loop.Step());
  EXPECT_THAT(waits, ElementsAre(500ms, 1000ms, 2000ms, 4000ms, 4000ms, 50ms, 60s, 500ms));
  EXPECT_EQ(metrics_.errors.Value(), 6);
  EXPECT_EQ(metrics_.batches.Value(), 2);
  EXPECT_EQ(metrics_.deleted_rows.Value(), 103);
  EXPECT_TRUE(loop.Failing());
}

TEST_F(RetentionLoopTest, AnOutageIsLoggedOnceAndItsEndOnce) {
  LogCapture logs;
  deleter_.script = {std::string("connection refused"), std::string("connection refused"),
                     std::string("connection refused"), size_t{0}, std::string("server closed\nthe connection")};
  RetentionLoop loop = Loop();
  for (int i = 0; i < 5; ++i) loop.Step();
  const auto warnings = logs.Lines("warning");
  ASSERT_EQ(warnings.size(), 2u);  // one per outage, not one per attempt
  EXPECT_EQ(warnings[0],
            "warning inbox: deleting expired rows failed: connection refused; will retry in 500ms and back off (not "
            "logged again until it works)");
  // A database's text is escaped: it cannot start a new log line.
  EXPECT_NE(warnings[1].find("server closed\\nthe connection"), std::string::npos) << warnings[1];
  EXPECT_THAT(logs.Lines("works again"),
              ElementsAre("info inbox: deleting expired rows works again after 3 failed attempts"));
}

TEST_F(RetentionLoopTest, APassIsSummedUpInOneLineNotOnePerBatch) {
  LogCapture logs;
  deleter_.script = {size_t{100}, size_t{100}, size_t{100}, size_t{5}, size_t{0}, size_t{0}};
  RetentionLoop loop = Loop();
  for (int i = 0; i < 6; ++i) loop.Step();
  EXPECT_THAT(logs.Lines("deleted"), ElementsAre("info inbox: deleted 305 rows older than 14d in 4 batches (0.0s)"));
}

TEST_F(RetentionLoopTest, AFailureNeverEndsTheLoop) {
  deleter_.script = {std::string("a"), std::string("b"), std::string("c")};
  deleter_.stop_after = 5;
  RetentionLoop loop = Loop();
  loop.Run(deleter_.stop.get_token());
  EXPECT_EQ(deleter_.calls.size(), 5u);  // kept going after three failures, until told to stop
  EXPECT_FALSE(loop.Failing());
  EXPECT_THAT(clock_.Sleeps(), ElementsAre(500ms, 1000ms, 2000ms, 60s));
}

TEST_F(RetentionLoopTest, LastSuccessIsTheWallClockOfTheLastGoodStatement) {
  RetentionLoop loop = Loop();
  EXPECT_EQ(metrics_.last_success.Value(), 0);
  loop.Step();
  const double first = metrics_.last_success.Value();
  EXPECT_EQ(first, std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count());
  clock_.Advance(10s);
  deleter_.script = {std::string("down")};
  loop.Step();
  EXPECT_EQ(metrics_.last_success.Value(), first);  // a failure does not move it
  loop.Step();
  EXPECT_EQ(metrics_.last_success.Value(), first + 10);
}

TEST_F(RetentionLoopTest, MetricsCarryTheTableLabel) {
  RetentionLoop loop = Loop();
  deleter_.script = {size_t{7}};
  loop.Step();
  const std::string text = registry_.Render();
  EXPECT_NE(text.find("paynotify_retention_deleted_rows_total{table=\"inbox\"} 7"), std::string::npos) << text;
  EXPECT_NE(text.find("paynotify_retention_errors_total{table=\"inbox\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("paynotify_retention_last_success_timestamp_seconds{table=\"inbox\"}"), std::string::npos);
}

TEST_F(RetentionLoopTest, AStopRequestedBeforeRunMeansNoBatchAtAll) {
  std::stop_source stop;
  stop.request_stop();
  RetentionLoop loop = Loop();
  loop.Run(stop.get_token());
  EXPECT_TRUE(deleter_.calls.empty());
}

TEST_F(RetentionLoopTest, AStopEndsTheWaitAtOnceWithTheRealClock) {
  // The idle wait is an hour: only the stop token can end it in time.
  RetentionSettings s = Settings();
  s.idle_interval = 1h;
  RetentionLoop loop("inbox", deleter_, s, metrics_, runtime::SystemClock::Instance());
  std::jthread worker([&](std::stop_token stop) { loop.Run(stop); });
  while (metrics_.batches.Value() < 1) std::this_thread::yield();  // the first batch ran; now it waits
  const auto asked = std::chrono::steady_clock::now();
  worker.request_stop();
  worker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 1s);
  EXPECT_EQ(deleter_.calls.size(), 1u);
}

}  // namespace
}  // namespace paynotify::retention

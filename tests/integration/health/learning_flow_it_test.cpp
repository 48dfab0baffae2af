// learning-service's /readyz "flow" (issue 11 §3) against the real RabbitMQ and PostgreSQL:
// messages waiting in its queue, dead letters of the last hour, the last apply; never a reason
// to answer 503; and the metrics the alert rules read, on a live scrape.
#include <gtest/gtest.h>
#include <httplib.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/integration/health/rule_metrics.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

class LearningFlowIt : public LearningIntegrationTest {
 protected:
  void SetUp() override {
    LearningIntegrationTest::SetUp();
    settings_.queue_sample_interval = 100ms;
  }

  struct Readyz {
    int status = 0;
    nlohmann::json body;
  };
  Readyz GetReadyz() {
    httplib::Client client("127.0.0.1", service_->Port());
    auto result = client.Get("/readyz");
    if (!result) return {};
    return Readyz{result->status, nlohmann::json::parse(result->body, nullptr, false)};
  }
  std::string Metrics() {
    httplib::Client client("127.0.0.1", service_->Port());
    auto result = client.Get("/metrics");
    return result ? result->body : "";
  }
  // A field of the "flow" detail ("absent" when the body has none).
  static nlohmann::json Flow(const Readyz& readyz, const char* key) {
    if (!readyz.body.is_object() || !readyz.body.contains("flow")) return "absent";
    const auto& flow = readyz.body["flow"];
    if (!flow.is_object() || !flow.contains(key)) return "absent";
    return flow[key];
  }
  bool WaitForFlow(Readyz& readyz, const std::function<bool(const Readyz&)>& condition,
                   std::chrono::milliseconds deadline = 20s) {
    return WaitFor([&] {
      readyz = GetReadyz();
      return condition(readyz);
    }, deadline);
  }
};

TEST(LearningFlowJson, UnknownIsNullNeverZero) {
  const auto now = std::chrono::steady_clock::now();
  const auto unknown = LearningFlowJson(LearningFlow{"q", {}, {}, 0, std::nullopt}, now);
  EXPECT_EQ(unknown.dump(),
            R"({"queue":"q","queue_messages":null,"dead_letter_queue_messages":null,)"
            R"("queue_sampled_seconds_ago":null,"dead_lettered_last_hour":0,"last_applied_at":null})");
  const auto applied = std::chrono::system_clock::time_point(std::chrono::milliseconds(1767225600123));
  const auto known = LearningFlowJson(
      LearningFlow{"q", consumer::QueueSample{7, now - 1500ms}, consumer::QueueSample{2, now - 1500ms}, 3, applied},
      now);
  EXPECT_EQ(known.dump(),
            R"({"queue":"q","queue_messages":7,"dead_letter_queue_messages":2,)"
            R"("queue_sampled_seconds_ago":1.5,"dead_lettered_last_hour":3,)"
            R"("last_applied_at":"2026-01-01T00:00:00.123Z"})");
}

// Messages wait behind one the consumer cannot finish (its selection row is locked): /readyz
// counts them and stays 200; once they are applied the queue is empty and the last apply has
// a time.
TEST_F(LearningFlowIt, ReadyzCountsWaitingMessagesAndTheLastApply) {
  settings_.prefetch = 1;
  settings_.batch_size = 1;
  StartService();
  Readyz readyz;
  ASSERT_TRUE(WaitForFlow(readyz, [](const Readyz& r) { return r.status == 200 && Flow(r, "queue_messages") == 0; }))
      << readyz.body.dump();
  EXPECT_EQ(Flow(readyz, "queue"), settings_.topology.queue);
  EXPECT_EQ(Flow(readyz, "dead_letter_queue_messages"), 0);
  EXPECT_EQ(Flow(readyz, "dead_lettered_last_hour"), 0);
  EXPECT_TRUE(Flow(readyz, "last_applied_at").is_null()) << "nothing applied since start: unknown";

  std::vector<int64_t> selections;
  for (int i = 0; i < 4; ++i) selections.push_back(InsertSelection());
  // Hold the first selection's row: its apply waits on the lock (FOR UPDATE), the others stay
  // in the queue (prefetch 1).
  pqxx::connection blocker(PgConnString(LearningDb()));
  auto lock = std::make_unique<pqxx::work>(blocker);
  lock->exec_params("SELECT id FROM xc_choose_course WHERE id = $1 FOR UPDATE", selections[0]);
  for (int64_t id : selections) Publish(PaymentMessage(id));

  ASSERT_TRUE(WaitForFlow(readyz, [](const Readyz& r) { return Flow(r, "queue_messages") == 3; }))
      << readyz.body.dump();
  EXPECT_EQ(readyz.status, 200) << "waiting messages never make the service unready";
  EXPECT_EQ(readyz.body["checks"], nlohmann::json({{"broker", true}, {"database", true}}));
  EXPECT_TRUE(Flow(readyz, "last_applied_at").is_null());
  EXPECT_LT(Flow(readyz, "queue_sampled_seconds_ago").get<double>(), 5.0);
  EXPECT_NE(Metrics().find("paynotify_learning_queue_messages{queue=\"main\"} 3\n"), std::string::npos);

  const auto before = std::chrono::system_clock::now() - 1s;
  lock->abort();
  lock.reset();
  ASSERT_TRUE(WaitForFlow(readyz, [](const Readyz& r) {
    return Flow(r, "queue_messages") == 0 && Flow(r, "last_applied_at").is_string();
  })) << readyz.body.dump();
  ASSERT_TRUE(WaitFor([&] { return CourseTableRows(selections[3]) == 1; }, 10s));
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 4);
  // "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC, between the unlock and now.
  const std::string at = Flow(readyz, "last_applied_at").get<std::string>();
  ASSERT_EQ(at.size(), 24u) << at;
  std::tm tm{};
  ASSERT_NE(::strptime(at.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << at;
  const auto parsed = std::chrono::system_clock::from_time_t(::timegm(&tm));
  EXPECT_GE(parsed, std::chrono::time_point_cast<std::chrono::seconds>(before)) << at;
  EXPECT_LE(parsed, std::chrono::system_clock::now()) << at;
  EXPECT_EQ(readyz.status, 200);
}

// A poison message is dead-lettered: the last hour's count and the dead-letter queue say so.
TEST_F(LearningFlowIt, ReadyzCountsAPoisonMessageDeadLettered) {
  StartService();
  amqp::OutgoingMessage poison = PaymentMessage(InsertSelection());
  poison.body = "{not json";
  Publish(poison);
  Readyz readyz;
  ASSERT_TRUE(WaitForFlow(readyz, [](const Readyz& r) {
    return r.status == 200 && Flow(r, "dead_lettered_last_hour") == 1 && Flow(r, "dead_letter_queue_messages") == 1;
  })) << readyz.body.dump();
  EXPECT_EQ(Flow(readyz, "queue_messages"), 0);
  EXPECT_TRUE(Flow(readyz, "last_applied_at").is_null());
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("paynotify_learning_queue_messages{queue=\"dead-letter\"} 1\n"), std::string::npos);
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 1u);
}

// Every metric the learning-service alerts (and the shared ones) read is on a live scrape,
// before any message arrived: the rules must not depend on what happened since start.
TEST_F(LearningFlowIt, EveryMetricTheAlertRulesReadIsExported) {
  StartService();
  ASSERT_TRUE(WaitFor([&] { return Flow(GetReadyz(), "queue_messages").is_number(); }, 20s));
  const auto exported = paynotify::testing::ExportedMetricNames(Metrics());
  for (const auto& name : paynotify::testing::RuleMetricNames("learning-service")) {
    EXPECT_TRUE(exported.count(name)) << name << " is read by deploy/prometheus/alerts.yml but learning-service "
                                      << "does not export it";
  }
  // The dead-letter counter exists at 0 for every reason, so the first dead letter is an increase.
  EXPECT_NE(Metrics().find("paynotify_learning_dead_lettered_total{reason=\"other\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace paynotify::learning::testing

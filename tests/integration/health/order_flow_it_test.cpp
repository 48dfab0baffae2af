// order-service's /readyz "flow" (issue 11 §3) against the real PostgreSQL and RabbitMQ: the
// outbox backlog as the relay sampled it, reported while rows wait, and never a reason to
// answer 503 (the outbox is the buffer); and the metrics the alert rules read, on a live scrape.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/amqp/connection.hpp"
#include "common/amqp/topology.hpp"
#include "tests/integration/health/rule_metrics.hpp"
#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::WaitFor;

// A loopback port that refuses connections for as long as this lives: bound, never listened on.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot reserve a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int Port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

class OrderFlowIt : public OrderServiceIt {
 protected:
  struct Readyz {
    int status = 0;
    nlohmann::json body;
  };
  Readyz GetReadyz(OrderService& service) {
    httplib::Client client = ApiClient(service);
    auto result = client.Get("/readyz");
    if (!result) return {};
    return Readyz{result->status, nlohmann::json::parse(result->body, nullptr, false)};
  }
  // A number of the "flow" detail, or -1 when the body has none there (no answer, null).
  static double Flow(const Readyz& readyz, const char* key) {
    if (!readyz.body.is_object() || !readyz.body.contains("flow")) return -1;
    const auto& flow = readyz.body["flow"];
    if (!flow.is_object() || !flow.contains(key)) return -1;
    const auto& value = flow[key];
    return value.is_number() ? value.get<double>() : -1;
  }
  std::string Metrics(OrderService& service) {
    httplib::Client client = ApiClient(service);
    auto result = client.Get("/metrics");
    return result ? result->body : "";
  }
  void InsertRows(int n) {
    for (int i = 0; i < n; ++i) {
      Exec("INSERT INTO mq_message (message_type, business_key1, business_key2) "
           "VALUES ('payresult_notify', 'flow-" + std::to_string(i) + "', '60201')");
    }
  }
  // A queue that takes no message and says so (nack): the broker is up, publishes fail.
  void BrokerNacksEverything() {
    auto admin = amqp::Connection::Open(broker_);
    amqp::DeclareExchange(*admin, amqp::ExchangeSpec{exchange_, "fanout", true, false});
    amqp::DeclareQueue(*admin, amqp::QueueSpec{.name = queue_, .max_length = 0, .overflow = "reject-publish"});
    amqp::BindQueue(*admin, queue_, exchange_);
  }
};

// Before the relay's first sample nothing is known: null, never 0.
TEST(OutboxFlowJson, UnknownBeforeTheFirstSampleThenTheSample) {
  const auto now = std::chrono::steady_clock::now();
  const auto unknown = OutboxFlowJson(std::nullopt, now);
  for (const char* key : {"outbox_pending", "outbox_oldest_pending_age_seconds", "outbox_parked",
                          "outbox_sampled_seconds_ago"}) {
    ASSERT_TRUE(unknown.contains(key)) << key;
    EXPECT_TRUE(unknown[key].is_null()) << key;
  }
  const auto known = OutboxFlowJson(OutboxSample{OutboxStats{12, 3500ms, 2}, now - 2s}, now);
  EXPECT_EQ(known.dump(),
            R"({"outbox_pending":12,"outbox_oldest_pending_age_seconds":3.5,"outbox_parked":2,)"
            R"("outbox_sampled_seconds_ago":2.0})");
}

// Rows wait because the broker nacks them: /readyz shows them, their age and the parked count,
// and stays 200: order-service can take payments, the outbox holds them.
TEST_F(OrderFlowIt, ReadyzShowsTheBacklogAndStays200WhileRowsWait) {
  BrokerNacksEverything();
  InsertRows(3);
  OrderServiceConfig config = MakeConfig();
  config.relay.core.max_attempts = 1000;  // keep retrying: the rows stay pending
  OrderService& service = StartService(config);

  Readyz readyz;
  ASSERT_TRUE(WaitFor([&] {
    readyz = GetReadyz(service);
    return Flow(readyz, "outbox_pending") == 3;
  }, 20s)) << readyz.body.dump();
  EXPECT_EQ(readyz.status, 200) << readyz.body.dump();
  EXPECT_EQ(readyz.body["status"], "ready");
  EXPECT_EQ(readyz.body["checks"], nlohmann::json({{"database", true}, {"broker", true}}));
  EXPECT_EQ(readyz.body["flow"]["outbox_parked"], 0);
  ASSERT_TRUE(readyz.body["flow"]["outbox_oldest_pending_age_seconds"].is_number());
  EXPECT_GE(readyz.body["flow"]["outbox_oldest_pending_age_seconds"].get<double>(), 0.0);
  EXPECT_LT(readyz.body["flow"]["outbox_oldest_pending_age_seconds"].get<double>(), 120.0);
  ASSERT_TRUE(readyz.body["flow"]["outbox_sampled_seconds_ago"].is_number());
  EXPECT_LT(readyz.body["flow"]["outbox_sampled_seconds_ago"].get<double>(), 10.0);

  // The oldest row ages with the next samples.
  const double first_age = readyz.body["flow"]["outbox_oldest_pending_age_seconds"].get<double>();
  ASSERT_TRUE(WaitFor([&] {
    readyz = GetReadyz(service);
    return Flow(readyz, "outbox_oldest_pending_age_seconds") >= first_age + 1.0;
  }, 10s)) << readyz.body.dump();

  // A parked row moves from pending to parked; still 200.
  Exec("UPDATE mq_message SET parked_at = now() WHERE id = (SELECT min(id) FROM mq_message)");
  ASSERT_TRUE(WaitFor([&] {
    readyz = GetReadyz(service);
    return Flow(readyz, "outbox_parked") == 1 && Flow(readyz, "outbox_pending") == 2;
  }, 10s)) << readyz.body.dump();
  EXPECT_EQ(readyz.status, 200);
}

// The broker is unreachable: the backlog is still sampled and reported (it was not before
// issue 11: the gauges refreshed only after a successful batch). The status is the broker
// check's, not the backlog's; the check is on /metrics too, for PaynotifyBrokerDown.
TEST_F(OrderFlowIt, ReadyzReportsTheBacklogWhileTheBrokerIsUnreachable) {
  InsertRows(4);
  RefusingPort refusing;
  OrderServiceConfig config = MakeConfig();
  config.rabbitmq.addresses = {amqp::BrokerAddress{"127.0.0.1", refusing.Port()}};
  OrderService& service = StartService(config);

  Readyz readyz;
  ASSERT_TRUE(WaitFor([&] {
    readyz = GetReadyz(service);
    return Flow(readyz, "outbox_pending") == 4;
  }, 20s)) << readyz.body.dump();
  EXPECT_EQ(readyz.body["checks"]["broker"], false);
  EXPECT_EQ(readyz.body["checks"]["database"], true);
  EXPECT_EQ(readyz.status, 503) << "the broker check decides, as before";
  EXPECT_EQ(readyz.body["flow"]["outbox_parked"], 0);
  EXPECT_NE(Metrics(service).find("paynotify_readiness_check{check=\"broker\",listener=\"internal\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "4") << "nothing left the outbox";
}

// Every metric the order-service alerts (and the shared ones) read is on a live scrape.
TEST_F(OrderFlowIt, EveryMetricTheAlertRulesReadIsExported) {
  BindQueue();
  OrderService& service = StartService();
  // Wait for the relay's first round (broker connected, stats sampled) so nothing is missing
  // only because it was not registered yet.
  ASSERT_TRUE(WaitFor([&] { return Flow(GetReadyz(service), "outbox_pending") >= 0; }, 20s));
  const auto exported = paynotify::testing::ExportedMetricNames(Metrics(service));
  for (const auto& name : paynotify::testing::RuleMetricNames("order-service")) {
    EXPECT_TRUE(exported.count(name)) << name << " is read by deploy/prometheus/alerts.yml but order-service "
                                      << "does not export it";
  }
}

}  // namespace
}  // namespace paynotify::order::testing

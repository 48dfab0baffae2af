// The broker goes away while notifications keep coming: the intake keeps answering
// "success" (rows wait in the outbox), readiness reports the broker down, and every row is
// published once the broker is back. SERIAL: stops the shared local broker.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::Infra;
using paynotify::testing::WaitFor;

/// Restarts the broker on scope exit if the test stopped it (even when an assertion failed).
/// Stop() and Start() return their result for the caller to ASSERT on: an ASSERT inside them
/// would only return from the helper, and the test would go on against a broker in an
/// unknown state.
struct BrokerGuard {
  bool stopped = false;
  ::testing::AssertionResult Stop() {
    stopped = true;  // even a failed stop may have stopped it: the destructor starts it again
    return Run("stop rabbitmq");
  }
  ::testing::AssertionResult Start() {
    auto result = Run("start rabbitmq");
    if (result) stopped = false;
    return result;
  }
  static ::testing::AssertionResult Run(const std::string& args) {
    std::string output;
    if (Infra(args, &output) == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "infra " << args << " failed:\n" << output;
  }
  ~BrokerGuard() {
    if (stopped) Infra("start rabbitmq");
  }
};

class OrderBrokerOutageIt : public OrderServiceIt {};

TEST_F(OrderBrokerOutageIt, RowsWaitWhileBrokerIsDownAndArePublishedWhenItReturns) {
  BindQueue();
  OrderService& service = StartService();
  httplib::Client client = ApiClient(service);
  ASSERT_TRUE(WaitFor([&] { auto r = client.Get("/readyz"); return r && r->status == 200; }, 10s));
  const int64_t first = CreateOrder(service, "cs-outage-1");
  const int64_t second = CreateOrder(service, "cs-outage-2");

  BrokerGuard broker;
  ASSERT_TRUE(broker.Stop());
  ASSERT_TRUE(WaitFor([&] { auto r = client.Get("/readyz"); return r && r->status == 503; }, 15s))
      << "readiness should report the broker down";

  for (int64_t pay_no : {first, second}) {
    auto reply = PostNotify(service, SignedBody(Notification(pay_no, "12.30", "T-" + std::to_string(pay_no))));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "success");
  }
  // The relay keeps failing to connect; the rows stay untouched in the outbox.
  ASSERT_TRUE(WaitFor([&] {
    return service.Metrics().GetCounter("paynotify_relay_errors_total", "", {{"kind", "broker"}}).Value() >= 2;
  }, 15s));
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "2");

  ASSERT_TRUE(broker.Start());
  EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message") == "0"; }, 60s));
  EXPECT_TRUE(WaitFor([&] { auto r = client.Get("/readyz"); return r && r->status == 200; }, 15s));
  const auto messages = Drain(2, 10s);
  ASSERT_EQ(messages.size(), 2u);
  std::set<std::string> keys;
  for (const auto& m : messages) keys.insert(nlohmann::json::parse(m.body)["businessKey1"].get<std::string>());
  EXPECT_EQ(keys, (std::set<std::string>{"cs-outage-1", "cs-outage-2"}));
}

}  // namespace
}  // namespace paynotify::order::testing

// The history retention runs inside order-service (issue 11 §4): started with the relay, on a
// thread of its own, it deletes expired mq_message_history rows and keeps the rest, shows it in
// the metrics, and stops with the service at once even while it waits out its idle interval.
#include <gtest/gtest.h>

#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::WaitFor;

TEST_F(OrderServiceIt, HistoryRetentionDeletesExpiredHistoryRowsInsideTheService) {
  // 30-day default: 7 rows confirmed 31 days ago expire, 2 confirmed yesterday stay.
  Exec("INSERT INTO mq_message_history (id, message_id, message_type, returnsuccess_date, created_at) "
       "SELECT g, gen_random_uuid(), 'payresult_notify', now() - interval '31 days', now() - interval '31 days' "
       "FROM generate_series(1, 7) g");
  Exec("INSERT INTO mq_message_history (id, message_id, message_type, returnsuccess_date, created_at) "
       "SELECT g, gen_random_uuid(), 'payresult_notify', now() - interval '1 day', now() - interval '1 day' "
       "FROM generate_series(8, 9) g");
  OrderServiceConfig config = MakeConfig();
  config.relay.history_retention.idle_interval = 1h;  // after the first pass it only waits
  OrderService& service = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});

  ASSERT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message_history") == "2"; }, 20s))
      << Scalar("SELECT count(*) FROM mq_message_history");
  EXPECT_EQ(Scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM mq_message_history"), "8,9");
  auto& deleted = service.Metrics().GetCounter("paynotify_retention_deleted_rows_total", "",
                                               {{"table", "mq_message_history"}});
  EXPECT_EQ(deleted.Value(), 7);
  EXPECT_GT(service.Metrics()
                .GetGauge("paynotify_retention_last_success_timestamp_seconds", "", {{"table", "mq_message_history"}})
                .Value(),
            0);

  const auto asked = std::chrono::steady_clock::now();
  service.Stop();  // the retention thread is in its one-hour idle wait
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
}

}  // namespace
}  // namespace paynotify::order::testing

// order-service end to end inside one process: HTTP intake -> PostgreSQL (one transaction
// with the outbox row) -> relay -> RabbitMQ, against the real local servers.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <map>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/messages/mq_message.hpp"
#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::OrdersDb;
using paynotify::testing::PgConnString;
using paynotify::testing::WaitFor;

class OrderIntakeRelayIt : public OrderServiceIt {
 protected:
  /// Once the outbox is empty: reads `rows` messages from the test queue and checks that no
  /// message_id came twice and each businessKey1 came in id order. Returns the keys seen.
  size_t ExpectEachOnceInKeyOrder(int rows) {
    EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message") == "0"; }, 30s));
    const auto messages = Drain(rows, 20s, 1000ms);
    EXPECT_EQ(messages.size(), static_cast<size_t>(rows));
    std::set<std::string> ids;
    std::map<std::string, int64_t> last_id_of_key;
    for (const auto& m : messages) {
      ids.insert(m.message_id.value_or(""));
      const auto body = nlohmann::json::parse(m.body);
      const std::string key = body["businessKey1"].get<std::string>();
      const int64_t id = body["id"].get<int64_t>();
      EXPECT_LT(last_id_of_key[key], id) << "key " << key << " out of id order";
      last_id_of_key[key] = id;
    }
    EXPECT_EQ(ids.size(), static_cast<size_t>(rows));  // none twice
    return last_id_of_key.size();
  }
};

TEST_F(OrderIntakeRelayIt, SignedNotificationPublishesExactlyOneMessageAndDeletesTheRow) {
  BindQueue();
  OrderService& service = StartService();
  const int64_t pay_no = CreateOrder(service, "cs-e2e-1");
  EXPECT_EQ(CreateOrder(service, "cs-e2e-1"), pay_no);  // idempotent per outBusinessId

  const auto before = std::chrono::system_clock::now();
  auto reply = PostNotify(service, SignedBody(Notification(pay_no, "12.30", "T-100")));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "success");

  const auto messages = Drain(1, 10s);
  ASSERT_EQ(messages.size(), 1u);
  const amqp::Delivery& d = messages[0];
  EXPECT_EQ(d.exchange, exchange_);
  EXPECT_EQ(d.routing_key, "");
  EXPECT_EQ(d.content_type, "application/json");
  EXPECT_EQ(d.type, "payresult_notify");
  EXPECT_EQ(d.app_id, "order-service");
  EXPECT_EQ(d.delivery_mode, 2);
  ASSERT_TRUE(d.message_id);
  EXPECT_TRUE(std::regex_match(*d.message_id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")))
      << *d.message_id;
  ASSERT_TRUE(d.timestamp_s);
  EXPECT_NEAR(static_cast<double>(*d.timestamp_s),
              static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count()), 10);
  const auto body = nlohmann::json::parse(d.body);
  EXPECT_TRUE(body["id"].is_number_integer());
  EXPECT_EQ(body["messageType"], "payresult_notify");
  EXPECT_EQ(body["businessKey1"], "cs-e2e-1");
  EXPECT_EQ(body["businessKey2"], "60201");
  EXPECT_TRUE(body.contains("businessKey3") && body["businessKey3"].is_null());

  EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message") == "0"; }, 5s));
  EXPECT_EQ(Scalar("SELECT status FROM xc_pay_record WHERE pay_no = " + std::to_string(pay_no)), "601002");
  EXPECT_EQ(Scalar("SELECT out_pay_no FROM xc_pay_record WHERE pay_no = " + std::to_string(pay_no)), "T-100");
  EXPECT_EQ(Scalar("SELECT status FROM xc_orders WHERE out_business_id = 'cs-e2e-1'"), "600002");

  httplib::Client client = ApiClient(service);
  auto state = client.Get(("/orders/payresult?payNo=" + std::to_string(pay_no)).c_str());
  ASSERT_TRUE(state);
  EXPECT_EQ(nlohmann::json::parse(state->body)["status"], "601002");
  // A paid order is no longer "the same unpaid order": a second create is a conflict.
  auto again = client.Post("/orders", nlohmann::json{{"userId", "user-it"}, {"outBusinessId", "cs-e2e-1"},
                                                     {"orderType", "60201"}, {"orderName", "x"},
                                                     {"totalPrice", "12.30"}, {"orderDetail", nlohmann::json::array()}}
                                          .dump(),
                           "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
}

TEST_F(OrderIntakeRelayIt, SameNotificationThreeTimesConcurrentlyChangesStateOnce) {
  BindQueue();
  OrderService& service = StartService();
  const int64_t pay_no = CreateOrder(service, "cs-concurrent");
  const std::string body = SignedBody(Notification(pay_no));
  std::vector<std::thread> senders;
  std::vector<std::string> answers(3);
  for (int i = 0; i < 3; ++i) {
    senders.emplace_back([&, i] {
      auto reply = PostNotify(service, body);
      answers[i] = reply ? std::to_string(reply->status) + " " + reply->body : "no response";
    });
  }
  for (auto& t : senders) t.join();
  for (const auto& a : answers) EXPECT_EQ(a, "200 success");

  const auto messages = Drain(1, 10s, 1500ms);
  EXPECT_EQ(messages.size(), 1u);
  auto& registry = service.Metrics();
  EXPECT_EQ(registry.GetCounter("paynotify_notifications_applied_total", "").Value(), 1);
  EXPECT_EQ(registry.GetCounter("paynotify_notifications_duplicate_total", "").Value(), 2);
  EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message") == "0"; }, 5s));
}

TEST_F(OrderIntakeRelayIt, BadNotificationsAre4xxWithReasonAndChangeNothing) {
  BindQueue();
  OrderService& service = StartService();
  const int64_t pay_no = CreateOrder(service, "cs-bad");
  const std::string pay = std::to_string(pay_no);

  auto expect_rejected = [&](const std::string& body, int status, const std::string& reason) {
    auto reply = PostNotify(service, body);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, status) << reply->body;
    EXPECT_EQ(reply->body.rfind("failure", 0), 0u) << reply->body;
    EXPECT_NE(reply->body.find(reason), std::string::npos) << reply->body;
    EXPECT_EQ(Scalar("SELECT status FROM xc_pay_record WHERE pay_no = " + pay), "601001");
    EXPECT_EQ(Scalar("SELECT status FROM xc_orders WHERE out_business_id = 'cs-bad'"), "600001");
    EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "0");
  };

  // Bad signature: a field changed after signing.
  FormFields tampered = Notification(pay_no);
  std::string body = SignedBody(tampered);
  body.replace(body.find("total_amount=12.30"), 18, "total_amount=0.01");
  expect_rejected(body, 400, "sign: signature does not match");
  // Unknown payNo.
  expect_rejected(SignedBody(Notification(999999999999999)), 404, "out_trade_no: unknown payNo 999999999999999");
  // Amount mismatch.
  expect_rejected(SignedBody(Notification(pay_no, "12.31")), 400,
                  "total_amount: 12.31 does not equal the order's amount 12.30");
  // Malformed form.
  expect_rejected("out_trade_no=%ZZ&out_trade_no=1", 400, "bad percent-escape in field 'out_trade_no'");
  FormFields missing = Notification(pay_no);
  missing.erase("trade_no");
  expect_rejected(SignedBody(missing), 400, "trade_no: missing");

  EXPECT_TRUE(Drain(0, 0ms, 300ms).empty());
}

TEST_F(OrderIntakeRelayIt, NoQueueBoundKeepsRowAsReturnedUntilAQueueIsBound) {
  OrderService& service = StartService();
  const int64_t pay_no = CreateOrder(service, "cs-returned");
  auto reply = PostNotify(service, SignedBody(Notification(pay_no)));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->body, "success");

  ASSERT_TRUE(WaitFor([&] { return Scalar("SELECT returnfailure_msg FROM mq_message") == "returned"; }, 10s));
  EXPECT_GE(std::stoi(Scalar("SELECT execute_num FROM mq_message")), 1);
  EXPECT_NE(Scalar("SELECT returnfailure_date FROM mq_message"), "");
  EXPECT_GE(service.Metrics().GetCounter("paynotify_relay_returned_total", "").Value(), 1);

  BindQueue();
  EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message") == "0"; }, 10s));
  const auto messages = Drain(1, 5s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(messages[0].body)["businessKey1"], "cs-returned");
}

TEST_F(OrderIntakeRelayIt, TwoRelaysOnOneDatabasePublishEveryRowOnce) {
  BindQueue();
  constexpr int kRows = 400;
  OrderServiceConfig config = MakeConfig();
  config.relay.core.batch_size = 25;  // many small batches, so the two relays interleave
  config.relay.core.poll_interval = 10ms;  // both look at the table every 10 ms
  OrderService& first = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});
  OrderService& second = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});
  // The rows appear only once both relays are polling: inserted before, they could all be
  // gone before the second relay has even connected (that happened under a loaded CI).
  ASSERT_TRUE(WaitFor([&] {
    return first.relay()->BrokerUp() && first.relay()->DatabaseUp() && second.relay()->BrokerUp() &&
           second.relay()->DatabaseUp();
  }, 30s));
  Exec("INSERT INTO mq_message (message_type, business_key1, business_key2) "
       "SELECT 'payresult_notify', 'cs-' || g, '60201' FROM generate_series(1, " +
       std::to_string(kRows) + ") g");

  EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message") == "0"; }, 30s));
  const auto messages = Drain(kRows, 20s, 1000ms);
  EXPECT_EQ(messages.size(), static_cast<size_t>(kRows));
  std::set<std::string> ids;
  std::set<std::string> keys;
  for (const auto& m : messages) {
    ids.insert(m.message_id.value_or(""));
    keys.insert(nlohmann::json::parse(m.body)["businessKey1"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(keys.size(), static_cast<size_t>(kRows));
  const double a = services_[0]->Metrics().GetCounter("paynotify_relay_confirmed_total", "").Value();
  const double b = services_[1]->Metrics().GetCounter("paynotify_relay_confirmed_total", "").Value();
  EXPECT_EQ(a + b, kRows);  // each row confirmed (and deleted) by exactly one relay
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
}

// relay.workers: the workers of one daemon share the outbox as relays in several daemons do.
// With a backlog (rows the lead's batches cannot take at once) the helpers join in; rows of
// one key must still go out in id order (the queue's order), each exactly once.
TEST_F(OrderIntakeRelayIt, RelayWorkersDrainABacklogTogetherEveryRowOnceInKeyOrder) {
  BindQueue();
  constexpr int kKeys = 40;
  constexpr int kRowsPerKey = 25;
  constexpr int kRows = kKeys * kRowsPerKey;
  // Interleaved keys (row g has key g % kKeys), so every batch holds rows of many keys.
  Exec("INSERT INTO mq_message (message_type, business_key1, business_key2) "
       "SELECT 'payresult_notify', 'cs-' || (g % " + std::to_string(kKeys) + "), '60201' "
       "FROM generate_series(1, " + std::to_string(kRows) + ") g ORDER BY g");
  OrderServiceConfig config = MakeConfig();
  config.relay.workers = 3;
  config.relay.core.batch_size = 7;  // the lead's batches come back full: a backlog
  config.relay.core.poll_interval = 10ms;  // rows inserted here send no NOTIFY: the lead polls
  OrderService& service = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});
  ASSERT_EQ(service.relay_workers(), 3u);

  EXPECT_EQ(ExpectEachOnceInKeyOrder(kRows), static_cast<size_t>(kKeys));
  EXPECT_EQ(service.Metrics().GetCounter("paynotify_relay_confirmed_total", "").Value(), kRows);
  uint64_t confirmed = 0;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(service.relay_worker(i)->RowsConfirmed(), 0u) << "worker " << i << " never helped";
    confirmed += service.relay_worker(i)->RowsConfirmed();
  }
  EXPECT_EQ(confirmed, static_cast<uint64_t>(kRows));
}

// Without a backlog the lead relays alone, in batches as large as one relay's.
TEST_F(OrderIntakeRelayIt, RelayHelpersStayIdleWithoutABacklog) {
  BindQueue();
  Exec("INSERT INTO mq_message (message_type, business_key1, business_key2) "
       "SELECT 'payresult_notify', 'cs-idle-' || g, '60201' FROM generate_series(1, 5) g");
  OrderServiceConfig config = MakeConfig();
  config.relay.workers = 2;
  config.relay.core.poll_interval = 10ms;  // the helper wakes often, and must still stay out
  OrderService& service = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});
  EXPECT_EQ(Drain(5, 10s).size(), 5u);
  EXPECT_TRUE(WaitFor([&] { return service.relay()->RowsConfirmed() == 5; }, 10s));
  std::this_thread::sleep_for(100ms);  // ten of the helper's polls
  EXPECT_EQ(service.relay_worker(1)->RowsConfirmed(), 0u);
  // Set only by a store call or a connection: the idle helper made neither.
  EXPECT_FALSE(service.relay_worker(1)->DatabaseUp());
  EXPECT_FALSE(service.relay_worker(1)->BrokerUp());
  // One batch of five from the lead, as large as one relay's would be.
  EXPECT_EQ(service.Metrics().GetHistogram("paynotify_relay_batch_size", "", {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000})
                .Count(),
            1u);
}

// Rows committed one by one, each with its NOTIFY, while the relay publishes: the real LISTEN
// connection reports them between rounds (NotifyListener::Pending) and the relay claims them
// into its open batch. Every row goes out once, each key in id order, and the outbox empties.
TEST_F(OrderIntakeRelayIt, RowsArrivingWhileABatchPublishesJoinItEachOnceInKeyOrder) {
  BindQueue();
  OrderServiceConfig config = MakeConfig();
  config.relay.workers = 1;
  config.relay.core.poll_interval = 1s;  // NOTIFY (or a round) moves the rows, not the poll
  OrderService& service = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});
  constexpr int kKeys = 7;
  const auto extensions = [&] {
    return service.Metrics().GetCounter("paynotify_relay_batch_extensions_total", "").Value();
  };
  // At least 400 rows, and on until a batch has taken one (a NOTIFY that lands while the relay
  // waits for confirms): on a loaded machine that may take more rows, never unboundedly many.
  int rows = 0;
  {
    pqxx::connection writer(PgConnString(OrdersDb()));  // as Exec() connects
    while (rows < 400 || (extensions() == 0 && rows < 20000)) {
      pqxx::work tx(writer);
      tx.exec_params0("INSERT INTO mq_message (message_type, business_key1, business_key2) "
                      "VALUES ('payresult_notify', $1, '60201')",
                      "cs-round-" + std::to_string(rows % kKeys));
      tx.exec_params1("SELECT pg_notify($1, '')", config.relay.notify_channel);
      tx.commit();
      ++rows;
      std::this_thread::sleep_for(500us);
    }
  }
  EXPECT_EQ(ExpectEachOnceInKeyOrder(rows), static_cast<size_t>(kKeys));
  EXPECT_GT(extensions(), 0) << "no batch took a row that arrived while it published, in " << rows << " rows";
  EXPECT_EQ(service.Metrics().GetCounter("paynotify_relay_confirmed_total", "").Value(), rows);
}

// A batch stays open for new rows for its 50 ms window after its last round: rows committed
// 10 ms apart (far longer than a publish and its confirm on loopback) join the batch of the
// first instead of each getting a batch and a commit of its own.
TEST_F(OrderIntakeRelayIt, RowsArrivingAfterARoundWhileTheBatchIsOpenJoinIt) {
  BindQueue();
  OrderServiceConfig config = MakeConfig();
  config.relay.workers = 1;
  config.relay.core.poll_interval = 1s;
  OrderService& service = StartService(config, OrderServiceOptions{.run_http = false, .run_relay = true});
  constexpr int kRows = 4;
  {
    pqxx::connection writer(PgConnString(OrdersDb()));
    for (int row = 0; row < kRows; ++row) {
      pqxx::work tx(writer);
      tx.exec_params0("INSERT INTO mq_message (message_type, business_key1, business_key2) "
                      "VALUES ('payresult_notify', $1, '60201')",
                      "cs-open-" + std::to_string(row));
      tx.exec_params1("SELECT pg_notify($1, '')", config.relay.notify_channel);
      tx.commit();
      std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_EQ(ExpectEachOnceInKeyOrder(kRows), static_cast<size_t>(kRows));  // and the outbox empty
  const auto batches =
      service.Metrics().GetHistogram("paynotify_relay_batch_size", "", {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000}).Count();
  // One batch when every row came inside the first batch's window; a loaded machine may split
  // them in two. A batch per row means rows that came after a round completed it.
  EXPECT_LE(batches, 2u) << kRows << " rows 10 ms apart";
  EXPECT_GT(service.Metrics().GetCounter("paynotify_relay_batch_extensions_total", "").Value(), 0);
}

TEST_F(OrderIntakeRelayIt, KeepHistoryMovesConfirmedRows) {
  BindQueue();
  OrderServiceConfig config = MakeConfig();
  config.relay.keep_history = true;
  OrderService& service = StartService(config);
  const int64_t pay_no = CreateOrder(service, "cs-history");
  ASSERT_EQ(PostNotify(service, SignedBody(Notification(pay_no)))->body, "success");
  EXPECT_TRUE(WaitFor([&] { return Scalar("SELECT count(*) FROM mq_message_history") == "1"; }, 10s));
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "0");
  EXPECT_EQ(Scalar("SELECT state FROM mq_message_history"), "1");
  EXPECT_EQ(Drain(1, 5s).size(), 1u);
}

}  // namespace
}  // namespace paynotify::order::testing

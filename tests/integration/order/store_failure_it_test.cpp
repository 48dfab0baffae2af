// What the intake answers when its database connection dies under it (issue 14: one
// translator; a dead socket is "unavailable", 503, so the payment platform retries), against
// the real PostgreSQL: backends are terminated with pg_terminate_backend.
#include <gtest/gtest.h>

#include <thread>

#include "order-service/intake/pg_order_store.hpp"
#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::UniqueName;

class StoreFailureIt : public OrderServiceIt {
 protected:
  // Terminates every backend of `application_name` and waits (bounded) until they are gone.
  void TerminateBackends(const std::string& application_name) {
    const std::string where = "FROM pg_stat_activity WHERE application_name = '" + application_name + "'";
    ASSERT_NE(Scalar("SELECT count(*) " + where), "0") << "no backend of " << application_name;
    Scalar("SELECT count(pg_terminate_backend(pid)) " + where);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (Scalar("SELECT count(*) " + where) != "0") {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "backends of " << application_name << " linger";
      std::this_thread::sleep_for(10ms);
    }
  }

  static NewOrder Order(const std::string& out_business_id) {
    NewOrder order;
    order.user_id = "user-it";
    order.out_business_id = out_business_id;
    order.order_type = "60201";
    order.order_name = "Course " + out_business_id;
    order.total_cents = 1230;
    order.order_detail = "[]";
    return order;
  }
};

// Every route of the intake: the request that meets the dead connection is answered 503 with
// a fixed text (no libpq message), the next one is served on a new connection.
TEST_F(StoreFailureIt, AConnectionKilledUnderTheIntakeIsAnswered503AndTheNextRequestSucceeds) {
  OrderServiceConfig config = MakeConfig();
  config.database.application_name = UniqueName("order-it-kill");
  config.database_pool_size = 1;  // every request on the one connection that is killed
  const std::string app = config.database.application_name;
  OrderService& service = StartService(std::move(config), OrderServiceOptions{.run_relay = false});
  const int64_t pay_no = CreateOrder(service, "cs-kill-1");
  httplib::Client api = ApiClient(service);

  ASSERT_NO_FATAL_FAILURE(TerminateBackends(app));
  auto notify = PostNotify(service, SignedBody(Notification(pay_no)));
  ASSERT_TRUE(notify);
  EXPECT_EQ(notify->status, 503) << notify->body;
  EXPECT_EQ(notify->body, "failure\ndatabase unavailable while applying payment " + std::to_string(pay_no) +
                              "; try again later\n");
  notify = PostNotify(service, SignedBody(Notification(pay_no)));
  ASSERT_TRUE(notify);
  EXPECT_EQ(notify->status, 200) << notify->body;
  EXPECT_EQ(Scalar("SELECT status FROM xc_pay_record WHERE pay_no = " + std::to_string(pay_no)), "601002");

  ASSERT_NO_FATAL_FAILURE(TerminateBackends(app));
  auto result = api.Get(("/orders/payresult?payNo=" + std::to_string(pay_no)).c_str());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503) << result->body;
  EXPECT_EQ(result->body, R"({"errors":["database unavailable while reading payment )" + std::to_string(pay_no) +
                              R"(; try again later"]})");
  result = api.Get(("/orders/payresult?payNo=" + std::to_string(pay_no)).c_str());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;

  ASSERT_NO_FATAL_FAILURE(TerminateBackends(app));
  const std::string order = R"({"userId":"user-it","outBusinessId":"cs-kill-2","orderType":"60201",
      "orderName":"n","totalPrice":"1.00","orderDetail":[]})";
  result = api.Post("/orders", order, "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503) << result->body;
  result = api.Post("/orders", order, "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 201) << result->body;
}

// The connection dies in the middle of a payment transaction (after the pay record was
// locked): the next statement fails on the dead socket. That is "unavailable" (503), not an
// internal error, and the connection is replaced for the next transaction.
TEST_F(StoreFailureIt, AConnectionKilledMidTransactionIsUnavailableAndReplaced) {
  pg::PgSettings settings = MakeConfig().database;
  settings.application_name = UniqueName("order-it-kill-tx");
  PgOrderStore store(settings, 1, channel_);
  const int64_t pay_no = store.CreateOrGetOrder(Order("cs-kill-tx")).payment.pay_no;
  {
    std::unique_ptr<PaymentTransaction> tx = store.BeginPayment();
    const std::optional<PaymentRow> row = tx->LockPayment(pay_no);
    ASSERT_TRUE(row);
    ASSERT_NO_FATAL_FAILURE(TerminateBackends(settings.application_name));
    try {
      tx->MarkPaid(PaidUpdate{pay_no, row->order_id, "T-kill", "Alipay"},
                   OutboxInsert{"payresult_notify", "cs-kill-tx", "60201", std::nullopt});
      FAIL() << "expected StoreError";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::kUnavailable) << e.what();
    }
    EXPECT_THROW(tx->Commit(), StoreError) << "the transaction is dead after a failure";
  }
  std::unique_ptr<PaymentTransaction> tx = store.BeginPayment();
  const std::optional<PaymentRow> row = tx->LockPayment(pay_no);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, kPayUnpaid) << "nothing of the killed transaction was committed";
  tx->MarkPaid(PaidUpdate{pay_no, row->order_id, "T-kill", "Alipay"},
               OutboxInsert{"payresult_notify", "cs-kill-tx", "60201", std::nullopt});
  tx->Commit();
  EXPECT_EQ(Scalar("SELECT status FROM xc_pay_record WHERE pay_no = " + std::to_string(pay_no)), "601002");
}

}  // namespace
}  // namespace paynotify::order::testing

// Issue 10 at the intake level against the real PostgreSQL: OrderIntake + PgOrderStore in the
// fixture's private schema (built from this tree's migrations, xc_pay_conflict included).
// HTTP over a socket is tested with the HTTP server; here the decisions meet the database.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <nlohmann/json.hpp>

#include "order-service/intake/intake.hpp"
#include "order-service/intake/pg_order_store.hpp"
#include "tests/integration/order/order_it_support.hpp"
#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order::testing {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

class IntakeHostileIt : public OrderServiceIt {
 protected:
  void SetUp() override {
    OrderServiceIt::SetUp();
    config_ = MakeConfig();
    store_ = std::make_unique<PgOrderStore>(config_.database, 2, channel_);
    intake_ = std::make_unique<OrderIntake>(IntakeSettings{kTestAppId}, *store_,
                                            SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem),
                                            registry_);
  }
  void TearDown() override {
    intake_.reset();
    store_.reset();  // closes its connections before the schema is dropped
    OrderServiceIt::TearDown();
  }

  int64_t NewOrder(const std::string& out_business_id) {
    const nlohmann::json body{{"userId", "user-it"},  {"outBusinessId", out_business_id},
                              {"orderType", "60201"}, {"orderName", "Course"},
                              {"totalPrice", "12.30"}, {"orderDetail", nlohmann::json::array()}};
    const Reply reply = intake_->HandleCreateOrder("application/json", body.dump());
    EXPECT_EQ(reply.status, 201) << reply.body;
    return nlohmann::json::parse(reply.body).at("payNo").get<int64_t>();
  }
  Reply Notify(const FormFields& fields) { return intake_->HandleNotify(kForm, SignedBody(fields)); }
  double Counter(const std::string& name) { return registry_.GetCounter(name, "").Value(); }

  OrderServiceConfig config_;
  metrics::Registry registry_;
  std::unique_ptr<PgOrderStore> store_;
  std::unique_ptr<OrderIntake> intake_;
};

// §1 "A second payment for a paid order vanishes": now a row in xc_pay_conflict with both
// trade numbers and the amount, a counter, and still "success" (the platform stops).
TEST_F(IntakeHostileIt, SecondPaymentForAPaidOrderIsRecordedAndAcknowledged) {
  const int64_t pay_no = NewOrder("cs-conflict");
  const std::string pay = std::to_string(pay_no);
  ASSERT_EQ(Notify(Notification(pay_no, "12.30", "T-FIRST")).body, "success");
  ASSERT_EQ(Scalar("SELECT count(*) FROM mq_message"), "1");

  const Reply second = Notify(Notification(pay_no, "12.30", "T-SECOND"));
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "success");
  EXPECT_EQ(Counter("paynotify_notifications_pay_conflict_total"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_conflict"), "1");
  EXPECT_EQ(Scalar("SELECT concat_ws('|', pay_no, trade_no, recorded_trade_no, pay_status, "
                   "total_amount, trade_status, times_received) FROM xc_pay_conflict"),
            pay + "|T-SECOND|T-FIRST|601002|12.30|TRADE_SUCCESS|1");
  const std::string summary = Scalar("SELECT notification FROM xc_pay_conflict");
  EXPECT_NE(summary.find("trade_no=T-SECOND"), std::string::npos) << summary;
  EXPECT_NE(summary.find("out_trade_no=" + pay), std::string::npos) << summary;
  EXPECT_EQ(summary.find("sign="), std::string::npos) << summary;
  EXPECT_EQ(Scalar("SELECT received_at <= now() FROM xc_pay_conflict"), "t");

  // The paid record and the outbox are untouched: the first payment stands.
  EXPECT_EQ(Scalar("SELECT out_pay_no FROM xc_pay_record WHERE pay_no = " + pay), "T-FIRST");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "1");

  // Idempotent: the same conflicting notification again is counted on the same row.
  EXPECT_EQ(Notify(Notification(pay_no, "12.30", "T-SECOND")).body, "success");
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_conflict"), "1");
  EXPECT_EQ(Scalar("SELECT times_received FROM xc_pay_conflict"), "2");
  EXPECT_EQ(Scalar("SELECT last_received_at >= received_at FROM xc_pay_conflict"), "t");
  EXPECT_EQ(Counter("paynotify_notifications_pay_conflict_total"), 2);

  // The original payment again is a plain duplicate.
  EXPECT_EQ(Notify(Notification(pay_no, "12.30", "T-FIRST")).body, "success");
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_conflict"), "1");
  EXPECT_EQ(Counter("paynotify_notifications_duplicate_total"), 1);
}

// §1 "500 for bad input": a correctly signed notification whose trade_no is not UTF-8. The
// database cannot store it (shown first, through the store directly: that was the 500);
// the intake answers 400 naming the field and writes nothing.
TEST_F(IntakeHostileIt, NonUtf8TradeNoIs400AndWritesNothing) {
  const int64_t pay_no = NewOrder("cs-utf8");
  const std::string pay = std::to_string(pay_no);
  const std::string bad = "T-\xFF\xFE";
  {
    auto tx = store_->BeginPayment();
    const auto row = tx->LockPayment(pay_no);
    ASSERT_TRUE(row);
    try {
      tx->MarkPaid(PaidUpdate{pay_no, row->order_id, bad, "Alipay"},
                   OutboxInsert{"payresult_notify", "cs-utf8", "60201", std::nullopt});
      ADD_FAILURE() << "PostgreSQL stored a trade_no that is not UTF-8";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::kInternal) << e.what();  // would have been a 500
    }
  }

  const Reply reply = Notify(Notification(pay_no, "12.30", bad));
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_EQ(reply.body, "failure\ntrade_no: not valid UTF-8\n");
  EXPECT_EQ(Scalar("SELECT status FROM xc_pay_record WHERE pay_no = " + pay), "601001");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "0");

  // The same payment with a clean trade_no still goes through.
  EXPECT_EQ(Notify(Notification(pay_no, "12.30", "T-1")).body, "success");
}

// §1 "JSON ambiguities", through the real store: what is checked is what is stored, or
// nothing is.
TEST_F(IntakeHostileIt, OrderBodiesWithTwoMeaningsCreateNothing) {
  Reply reply = intake_->HandleCreateOrder("application/json", R"({"userId":"u","outBusinessId":"cs-nul\u0000x",
      "orderType":"60201","orderName":"n","totalPrice":"1.00","orderDetail":[]})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  reply = intake_->HandleCreateOrder("application/json", R"({"userId":"u","outBusinessId":"cs-dup",
      "orderType":"60201","orderName":"n","totalPrice":"100.00","totalPrice":"0.01","orderDetail":[]})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  reply = intake_->HandleCreateOrder(
      "application/json", R"({"userId":"u","outBusinessId":"cs-deep","orderType":"60201","orderName":"n",
      "totalPrice":"1.00","orderDetail":)" + std::string(150000, '[') + std::string(150000, ']') + "}");
  EXPECT_EQ(reply.status, 400) << reply.body.substr(0, 300);
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_orders"), "0");

  EXPECT_EQ(intake_->HandlePayResult(std::string("\xFF\xFE")).status, 400);
}

// Brief: libpq's error text must not reach a client. A login the server refuses is
// "unavailable" (503, try later); the reply names neither the user nor the server's words.
TEST_F(IntakeHostileIt, DatabaseErrorTextStaysInTheLog) {
  pg::PgSettings wrong = config_.database;
  wrong.password = "not-the-password";
  PgOrderStore store(wrong, 1, channel_);
  metrics::Registry registry;
  OrderIntake intake(IntakeSettings{kTestAppId}, store,
                     SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem), registry);
  for (const Reply& reply :
       {intake.HandleNotify(kForm, SignedBody(Notification(1000000000001))),
        intake.HandlePayResult(std::string("1000000000001")),
        intake.HandleCreateOrder("application/json", R"({"userId":"u","outBusinessId":"b",
            "orderType":"60201","orderName":"n","totalPrice":"1.00","orderDetail":[]})")}) {
    EXPECT_EQ(reply.status, 503) << reply.body;
    EXPECT_EQ(reply.body.find("password"), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find(wrong.user), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find("FATAL"), std::string::npos) << reply.body;
  }
}

}  // namespace
}  // namespace paynotify::order::testing

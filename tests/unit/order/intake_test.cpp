// The intake handler's decisions, against FakeOrderStore (no database).
#include "order-service/intake/intake.hpp"

#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "order-service/intake/form.hpp"
#include "tests/unit/order/fake_order_store.hpp"
#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order {
namespace {

constexpr const char* kAppId = "2021000000000001";
constexpr const char* kForm = "application/x-www-form-urlencoded; charset=utf-8";

using testing::FakeOrderStore;

using testing::EncodeForm;

class IntakeTest : public ::testing::Test {
 protected:
  IntakeTest()
      : intake_(IntakeSettings{kAppId},
                store_, SignatureVerifier::FromPublicKey(testing::SharedKeyPair().public_pem), registry_) {
    store_.AddUnpaid(1000000000001, 1230);
  }

  FormFields Notification(std::string amount = "12.30", std::string status = "TRADE_SUCCESS") {
    return FormFields{{"app_id", kAppId},        {"out_trade_no", "1000000000001"},
                      {"trade_no", "T-1"},       {"trade_status", status},
                      {"total_amount", amount},  {"sign_type", "RSA2"},
                      {"notify_id", "n1"}};
  }
  std::string Signed(FormFields fields) {
    fields["sign"] = Rsa2Sign(fields, testing::SharedKeyPair().private_pem);
    return EncodeForm(fields);
  }
  double Rejected(const std::string& reason) {
    return registry_
        .GetCounter("paynotify_notifications_rejected_total", "", {{"reason", reason}})
        .Value();
  }

  metrics::Registry registry_;
  FakeOrderStore store_;
  OrderIntake intake_;
};

TEST_F(IntakeTest, ValidNotificationMarksPaidAndQueuesOneMessage) {
  const Reply reply = intake_.HandleNotify(kForm, Signed(Notification()));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "success");
  const PaymentRow& row = store_.payments.at(1000000000001);
  EXPECT_EQ(row.status, kPayPaid);
  EXPECT_EQ(row.order_status, kOrderPaid);
  EXPECT_EQ(row.out_pay_no, "T-1");
  ASSERT_EQ(store_.outbox.size(), 1u);
  EXPECT_EQ(store_.outbox[0].message_type, "payresult_notify");
  EXPECT_EQ(store_.outbox[0].business_key1, "cs-9");
  EXPECT_EQ(store_.outbox[0].business_key2, "60201");
  EXPECT_EQ(store_.outbox[0].business_key3, std::nullopt);
}

TEST_F(IntakeTest, RepeatedNotificationWritesNothing) {
  ASSERT_EQ(intake_.HandleNotify(kForm, Signed(Notification())).body, "success");
  const int commits = store_.commits;
  const Reply again = intake_.HandleNotify(kForm, Signed(Notification()));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "success");
  EXPECT_EQ(store_.commits, commits);  // committed nothing
  EXPECT_EQ(store_.outbox.size(), 1u);
}

TEST_F(IntakeTest, BadSignatureIs4xxAndChangesNothing) {
  std::string body = Signed(Notification());
  body.replace(body.find("T-1"), 3, "T-2");
  const Reply reply = intake_.HandleNotify(kForm, body);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.rfind("failure\n", 0), 0u);
  EXPECT_NE(reply.body.find("sign: signature does not match"), std::string::npos);
  EXPECT_EQ(store_.payments.at(1000000000001).status, kPayUnpaid);
  EXPECT_EQ(Rejected("bad_signature"), 1);
}

TEST_F(IntakeTest, UnknownPayNoIs404) {
  FormFields fields = Notification();
  fields["out_trade_no"] = "42";
  const Reply reply = intake_.HandleNotify(kForm, Signed(fields));
  EXPECT_EQ(reply.status, 404);
  EXPECT_NE(reply.body.find("out_trade_no: unknown payNo 42"), std::string::npos);
  EXPECT_TRUE(store_.outbox.empty());
}

TEST_F(IntakeTest, AmountMismatchIsComparedExactly) {
  const Reply reply = intake_.HandleNotify(kForm, Signed(Notification("12.31")));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("total_amount: 12.31 does not equal the order's amount 12.30"),
            std::string::npos);
  EXPECT_EQ(store_.commits, 0);
  // "12.3" is the same amount as "12.30".
  EXPECT_EQ(intake_.HandleNotify(kForm, Signed(Notification("12.3"))).body, "success");
}

TEST_F(IntakeTest, AppIdMismatchIsRejected) {
  FormFields fields = Notification();
  fields["app_id"] = "someone-else";
  const Reply reply = intake_.HandleNotify(kForm, Signed(fields));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("app_id: 'someone-else' is not our application id"), std::string::npos);
}

TEST_F(IntakeTest, MalformedFormNamesTheProblem) {
  Reply reply = intake_.HandleNotify(kForm, "out_trade_no=1&out_trade_no=2");
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("field 'out_trade_no' appears more than once"), std::string::npos);

  FormFields fields = Notification();
  fields.erase("trade_no");
  reply = intake_.HandleNotify(kForm, Signed(fields));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("trade_no: missing"), std::string::npos);

  reply = intake_.HandleNotify("application/json", "{}");
  EXPECT_EQ(reply.status, 415);
  EXPECT_EQ(Rejected("malformed"), 3);
}

TEST_F(IntakeTest, NonFinalStatusIsAcknowledgedWithoutEffect) {
  const Reply reply = intake_.HandleNotify(kForm, Signed(Notification("12.30", "WAIT_BUYER_PAY")));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "success");
  EXPECT_EQ(store_.payments.at(1000000000001).status, kPayUnpaid);
  EXPECT_TRUE(store_.outbox.empty());
}

TEST_F(IntakeTest, DatabaseUnavailableIs503Failure) {
  store_.fail_with = StoreError::Kind::kUnavailable;
  const Reply reply = intake_.HandleNotify(kForm, Signed(Notification()));
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body.rfind("failure", 0), 0u);
  EXPECT_EQ(Rejected("database_unavailable"), 1);
}

// A refunded payment is never paid again. Its own trade_no again (a retry, or the platform's
// notice about the refund) is a duplicate; another trade_no is a second charge, recorded
// (issue 10) rather than answered 409, which the platform would retry for 25 hours and then
// drop.
TEST_F(IntakeTest, RefundedPaymentCannotBePaidAgain) {
  PaymentRow& row = store_.payments.at(1000000000001);
  row.status = std::string(kPayRefunded);
  row.out_pay_no = "T-1";
  Reply reply = intake_.HandleNotify(kForm, Signed(Notification()));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "success");
  EXPECT_TRUE(store_.conflicts.empty());

  FormFields second = Notification();
  second["trade_no"] = "T-2";
  reply = intake_.HandleNotify(kForm, Signed(second));
  EXPECT_EQ(reply.body, "success");
  ASSERT_EQ(store_.conflicts.size(), 1u);
  EXPECT_EQ(store_.conflicts.begin()->second.first.pay_status, kPayRefunded);
  EXPECT_EQ(store_.payments.at(1000000000001).status, kPayRefunded);
  EXPECT_TRUE(store_.outbox.empty());
}

TEST_F(IntakeTest, AnUnknownPayStatusCannotBePaid) {
  store_.payments.at(1000000000001).status = "601999";
  EXPECT_EQ(intake_.HandleNotify(kForm, Signed(Notification())).status, 409);
  EXPECT_TRUE(store_.outbox.empty());
}

TEST(IntakeWithoutSignature, AcceptsUnsignedWhenTurnedOff) {
  metrics::Registry registry;
  FakeOrderStore store;
  store.AddUnpaid(5, 100);
  OrderIntake intake(IntakeSettings{kAppId}, store, std::nullopt, registry);
  const Reply reply = intake.HandleNotify(
      kForm, EncodeForm({{"app_id", kAppId}, {"out_trade_no", "5"}, {"trade_no", "T"},
                         {"trade_status", "TRADE_SUCCESS"}, {"total_amount", "1.00"}}));
  EXPECT_EQ(reply.body, "success");
}

constexpr const char* kOrderBody = R"({"userId":"user-1","outBusinessId":"cs-100",
    "orderType":"60201","orderName":"Course","totalPrice":"12.30","orderDetail":[]})";

TEST_F(IntakeTest, CreateOrderIsIdempotentPerOutBusinessId) {
  const Reply first = intake_.HandleCreateOrder("application/json", kOrderBody);
  EXPECT_EQ(first.status, 201) << first.body;
  const Reply second = intake_.HandleCreateOrder("application/json", kOrderBody);
  EXPECT_EQ(second.status, 200) << second.body;
  auto a = nlohmann::json::parse(first.body);
  auto b = nlohmann::json::parse(second.body);
  EXPECT_EQ(a["payNo"], b["payNo"]);
  EXPECT_EQ(a["orderId"], b["orderId"]);
  EXPECT_EQ(a["status"], "600001");
}

TEST_F(IntakeTest, CreateOrderConflictsOnDifferentAmountOrUser) {
  ASSERT_EQ(intake_.HandleCreateOrder("application/json", kOrderBody).status, 201);
  std::string other = kOrderBody;
  other.replace(other.find("12.30"), 5, "99.00");
  other.replace(other.find("user-1"), 6, "user-2");
  const Reply reply = intake_.HandleCreateOrder("application/json", other);
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(reply.body.find("exists for another user"), std::string::npos);
  EXPECT_NE(reply.body.find("exists with amount 12.30, not 99.00"), std::string::npos);
}

TEST_F(IntakeTest, CreateOrderRejectsBadBodiesWithEveryError) {
  const Reply reply = intake_.HandleCreateOrder("application/json", R"({"totalPrice":"1.234"})");
  EXPECT_EQ(reply.status, 400);
  const auto errors = nlohmann::json::parse(reply.body)["errors"];
  EXPECT_GE(errors.size(), 5u);
}

TEST_F(IntakeTest, PayResultShowsTheState) {
  Reply reply = intake_.HandlePayResult(std::string("1000000000001"));
  ASSERT_EQ(reply.status, 200);
  auto j = nlohmann::json::parse(reply.body);
  EXPECT_EQ(j["status"], "601001");
  EXPECT_EQ(j["totalPrice"], "12.30");
  EXPECT_EQ(intake_.HandlePayResult(std::string("77")).status, 404);
  EXPECT_EQ(intake_.HandlePayResult(std::string("x")).status, 400);
  EXPECT_EQ(intake_.HandlePayResult(std::nullopt).status, 400);
}

}  // namespace
}  // namespace paynotify::order

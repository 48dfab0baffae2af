// The intake's fast path, PgOrderStore::PayIfPayable (issue 15), against the real PostgreSQL:
// what its one statement pays and what it leaves to the locking path, and that a record a
// concurrent transaction changes under it is checked again as that transaction left it.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <future>
#include <thread>

#include "order-service/intake/pg_order_store.hpp"
#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::OrdersDb;
using paynotify::testing::PgConnString;

class PayStoreIt : public OrderServiceIt {
 protected:
  std::string Status(int64_t pay_no) {
    return Scalar("SELECT p.status || '/' || o.status || '/' || coalesce(p.out_pay_no, '-') FROM xc_pay_record p "
                  "JOIN xc_orders o ON o.id = p.order_id WHERE p.pay_no = " + std::to_string(pay_no));
  }
  static PayAttempt Attempt(int64_t pay_no, const std::string& trade_no, int64_t cents = 1230) {
    return PayAttempt{pay_no, trade_no, "Alipay", cents};
  }
};

TEST_F(PayStoreIt, PaysExactlyThePayableRecordsAndLeavesTheRestUntouched) {
  PgOrderStore store(MakeConfig().database, 1, channel_);
  const std::vector<int64_t> pay = CreateOrders("cs-fast", 5);
  Exec("UPDATE xc_pay_record SET status = '601002', out_pay_no = 'T-before' WHERE pay_no = " + std::to_string(pay[1]));
  Exec("UPDATE xc_pay_record SET status = '601003' WHERE pay_no = " + std::to_string(pay[3]));
  pqxx::connection listener(PgConnString(OrdersDb()));
  struct Receiver final : pqxx::notification_receiver {
    using notification_receiver::notification_receiver;
    void operator()(const std::string&, int) override { ++received; }
    int received = 0;
  } receiver(listener, channel_);

  const std::vector<PayOutcome> outcomes = store.PayIfPayable(
      {Attempt(pay[0], "T-0"), Attempt(pay[1], "T-1"), Attempt(pay[2], "T-2", 1231), Attempt(pay[3], "T-3"),
       Attempt(999999999, "T-unknown"), Attempt(pay[4], "T-4")},
      "payresult_notify");

  ASSERT_EQ(outcomes.size(), 6u);
  std::vector<std::optional<PaidRef>> paid;
  for (const PayOutcome& o : outcomes) paid.push_back(o.paid);
  for (size_t i : {1, 2, 3, 4}) EXPECT_FALSE(paid[i]) << "attempt " << i << " was not payable";
  ASSERT_TRUE(paid[0]);
  ASSERT_TRUE(paid[5]);
  // What was not paid comes with the record as the statement read it.
  ASSERT_TRUE(outcomes[1].record);
  EXPECT_EQ(outcomes[1].record->pay_no, pay[1]);
  EXPECT_EQ(outcomes[1].record->status, "601002");
  EXPECT_EQ(outcomes[1].record->out_pay_no, "T-before");
  EXPECT_EQ(outcomes[1].record->out_business_id, "cs-fast-2");
  ASSERT_TRUE(outcomes[2].record);
  EXPECT_EQ(outcomes[2].record->status, "601001");
  EXPECT_EQ(outcomes[2].record->total_cents, 1230);
  ASSERT_TRUE(outcomes[3].record);
  EXPECT_EQ(outcomes[3].record->status, "601003");
  EXPECT_FALSE(outcomes[4].record) << "no such pay_no";
  EXPECT_LT(paid[0]->outbox.id, paid[5]->outbox.id) << "outbox rows in the order of the attempts";
  EXPECT_EQ(Status(pay[0]), "601002/600002/T-0");
  EXPECT_EQ(Status(pay[4]), "601002/600002/T-4");
  EXPECT_EQ(Status(pay[1]), "601002/600001/T-before");
  EXPECT_EQ(Status(pay[2]), "601001/600001/-") << "another amount pays nothing";
  EXPECT_EQ(Status(pay[3]), "601003/600001/-") << "a refunded record is never paid again";
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_record WHERE pay_success_time IS NOT NULL"), "2");
  EXPECT_EQ(Scalar("SELECT string_agg(concat_ws('|', id, message_id, message_type, business_key1, business_key2, "
                   "coalesce(business_key3, 'null')), ' ' ORDER BY id) FROM mq_message"),
            std::to_string(paid[0]->outbox.id) + "|" + paid[0]->outbox.message_id + "|payresult_notify|cs-fast-1|60201|null " +
                std::to_string(paid[5]->outbox.id) + "|" + paid[5]->outbox.message_id +
                "|payresult_notify|cs-fast-5|60201|null");
  EXPECT_EQ(paid[0]->order_id, std::stoll(Scalar("SELECT order_id FROM xc_pay_record WHERE pay_no = " +
                                                 std::to_string(pay[0]))));
  listener.await_notification(5, 0);
  EXPECT_EQ(receiver.received, 1) << "the relay is woken once, by the statement's commit";

  // Nothing payable: nothing written, no NOTIFY.
  const std::vector<PayOutcome> none =
      store.PayIfPayable({Attempt(pay[0], "T-0"), Attempt(pay[2], "T-2", 1)}, "payresult_notify");
  ASSERT_EQ(none.size(), 2u);
  EXPECT_FALSE(none[0].paid);
  EXPECT_FALSE(none[1].paid);
  ASSERT_TRUE(none[0].record);
  EXPECT_EQ(none[0].record->out_pay_no, "T-0");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "2");
  listener.await_notification(0, 300000);
  EXPECT_EQ(receiver.received, 1) << "a statement that paid nothing wakes nobody";
}

// A notification's statement meets a record another transaction holds (here: pays it with
// another trade_no). It waits, and checks the record again as that transaction left it: paid,
// so not payable. Exactly one payment, exactly one outbox row, whichever came first.
TEST_F(PayStoreIt, ARecordPaidByAConcurrentTransactionIsCheckedAgainAndLeft) {
  pg::PgSettings settings = MakeConfig().database;
  settings.application_name = paynotify::testing::UniqueName("order-it-race");
  PgOrderStore store(settings, 1, channel_);
  const std::vector<int64_t> pay = CreateOrders("cs-race", 2);
  pqxx::connection holder_conn(PgConnString(OrdersDb()));
  pqxx::work holder(holder_conn);
  holder.exec1("SELECT 1 FROM xc_pay_record WHERE pay_no = " + std::to_string(pay[0]) + " FOR UPDATE");

  auto racing = std::async(std::launch::async, [&] {
    return store.PayIfPayable({Attempt(pay[0], "T-fast"), Attempt(pay[1], "T-other")}, "payresult_notify");
  });
  // Until the statement waits for the row lock (so that the re-check is what is tested).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + settings.application_name +
                "' AND wait_event_type = 'Lock'") != "1") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the statement never waited for the lock";
    ASSERT_EQ(racing.wait_for(10ms), std::future_status::timeout) << "the statement did not wait for the lock";
  }
  holder.exec0("UPDATE xc_pay_record SET status = '601002', out_pay_no = 'T-first' WHERE pay_no = " +
               std::to_string(pay[0]));
  holder.commit();
  ASSERT_EQ(racing.wait_for(10s), std::future_status::ready);
  const std::vector<PayOutcome> outcomes = racing.get();

  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].paid) << "paid meanwhile: not paid again";
  ASSERT_TRUE(outcomes[0].record);
  EXPECT_EQ(outcomes[0].record->status, "601001")
      << "read before the wait: payable, which tells the intake to decide it on the locking path";
  EXPECT_TRUE(outcomes[1].paid);
  EXPECT_EQ(Status(pay[0]), "601002/600001/T-first");
  EXPECT_EQ(Status(pay[1]), "601002/600002/T-other");
  EXPECT_EQ(Scalar("SELECT string_agg(business_key1, ' ') FROM mq_message"), "cs-race-2");
}

// trade_no is unique: a statement that would give a second record a trade_no already used
// fails as a whole (the intake then applies its members one by one) and writes nothing.
TEST_F(PayStoreIt, ABrokenUniqueTradeNoFailsTheWholeStatementAsAConflict) {
  PgOrderStore store(MakeConfig().database, 1, channel_);
  const std::vector<int64_t> pay = CreateOrders("cs-unique", 3);
  Exec("UPDATE xc_pay_record SET status = '601002', out_pay_no = 'T-taken' WHERE pay_no = " + std::to_string(pay[2]));
  try {
    store.PayIfPayable({Attempt(pay[0], "T-ok"), Attempt(pay[1], "T-taken")}, "payresult_notify");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::kConflict) << e.what();
  }
  EXPECT_EQ(Status(pay[0]), "601001/600001/-");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "0");
}

// An order with two pay records (a payment re-created for it), both notified in one group:
// each record is paid with its own outbox row, as two notifications alone would be; the
// order is marked paid once.
TEST_F(PayStoreIt, TwoPayRecordsOfOneOrderInOneStatementAreEachPaidOnce) {
  PgOrderStore store(MakeConfig().database, 1, channel_);
  const std::vector<int64_t> pay = CreateOrders("cs-two", 1);
  const std::string second = Scalar(
      "INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id) "
      "SELECT nextval('xc_pay_no_seq'), order_id, 'Course', 12.30, 'user-it' FROM xc_pay_record WHERE pay_no = " +
      std::to_string(pay[0]) + " RETURNING pay_no");
  const std::vector<PayOutcome> outcomes =
      store.PayIfPayable({Attempt(pay[0], "T-a"), Attempt(std::stoll(second), "T-b")}, "payresult_notify");
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0].paid);
  ASSERT_TRUE(outcomes[1].paid);
  EXPECT_EQ(outcomes[0].paid->order_id, outcomes[1].paid->order_id);
  EXPECT_EQ(Status(pay[0]), "601002/600002/T-a");
  EXPECT_EQ(Status(std::stoll(second)), "601002/600002/T-b");
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT message_id) || ' ' || min(business_key1) FROM mq_message"),
            "2 2 cs-two-1");
}

}  // namespace
}  // namespace paynotify::order::testing

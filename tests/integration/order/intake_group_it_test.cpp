// Group commit of payment notifications (issue 15 §2) against the real PostgreSQL: many
// concurrent notifications through the real HTTP wiring, and a group whose statement breaks
// the unique index on out_pay_no (falls back to one by one; only that member fails).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "order-service/intake/intake.hpp"
#include "order-service/intake/pg_order_store.hpp"
#include "tests/integration/order/order_it_support.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/order/commit_gate.hpp"
#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order::testing {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::WaitFor;

class IntakeGroupIt : public OrderServiceIt {};

// 200 notifications over 16 connections: 150 payments, 30 repeats of one of them, 10 second
// charges (another trade_no for a payment also notified with its own), 10 unknown payNos.
// Every payment is paid exactly once with exactly one outbox row, every second charge is
// recorded, and every answer is what the payment would get alone.
TEST_F(IntakeGroupIt, ManyConcurrentNotificationsArePaidExactlyOnceWithCorrectAnswers) {
  OrderService& service = StartService(OrderServiceOptions{.run_relay = false});
  const std::vector<int64_t> pay_nos = CreateOrders("cs-group", 150);
  struct Item {
    std::string body;
    std::string expected;
  };
  std::vector<Item> items;
  auto trade = [](int64_t pay_no) { return "T-" + std::to_string(pay_no); };
  for (int64_t pay_no : pay_nos) items.push_back({SignedBody(Notification(pay_no, "12.30", trade(pay_no))), "200 success"});
  for (int i = 0; i < 30; ++i) {
    items.push_back({SignedBody(Notification(pay_nos[i], "12.30", trade(pay_nos[i]))), "200 success"});
  }
  for (int i = 30; i < 40; ++i) {
    items.push_back({SignedBody(Notification(pay_nos[i], "12.30", trade(pay_nos[i]) + "-X")), "200 success"});
  }
  for (int i = 0; i < 10; ++i) {
    const int64_t unknown = 990000000000000 + i;
    items.push_back({SignedBody(Notification(unknown, "12.30", trade(unknown))),
                     "404 failure\nout_trade_no: unknown payNo " + std::to_string(unknown) + "\n"});
  }
  // Interleave, so that repeats and second charges meet their first in the same bursts.
  std::vector<Item> order;
  for (size_t stride = 0; stride < 7; ++stride) {
    for (size_t i = stride; i < items.size(); i += 7) order.push_back(items[i]);
  }
  ASSERT_EQ(order.size(), 200u);

  constexpr int kThreads = 16;
  std::vector<std::string> answers(order.size());
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", service.Port());
      client.set_read_timeout(30, 0);
      for (size_t i = t; i < order.size(); i += kThreads) {
        auto reply = client.Post("/orders/paynotify", order[i].body, "application/x-www-form-urlencoded");
        answers[i] = reply ? std::to_string(reply->status) + " " + reply->body : "no response";
      }
    });
  }
  for (auto& s : senders) s.join();
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(answers[i], order[i].expected) << "notification " << i;

  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_record WHERE status = '601002'"), "150");
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_orders WHERE status = '600002'"), "150");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "150");
  EXPECT_EQ(Scalar("SELECT count(DISTINCT business_key1) FROM mq_message"), "150");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message m JOIN xc_orders o ON o.out_business_id = m.business_key1 "
                   "WHERE o.status = '600002' AND m.business_key2 = '60201' AND m.business_key3 IS NULL"),
            "150");
  // Every payment carries its own trade_no, or (the 10 with a second charge) whichever of its
  // two arrived first.
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_record WHERE out_pay_no = 'T-' || pay_no "
                   "OR out_pay_no = 'T-' || pay_no || '-X'"),
            "150");
  EXPECT_LE(std::stoi(Scalar("SELECT count(*) FROM xc_pay_record WHERE out_pay_no LIKE '%-X'")), 10);
  // Each second charge: whichever of the two arrived second is recorded against the first.
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_conflict c JOIN xc_pay_record p USING (pay_no) "
                   "WHERE c.recorded_trade_no = p.out_pay_no AND c.trade_no <> p.out_pay_no "
                   "AND c.times_received = 1 AND c.trade_no IN ('T-' || pay_no, 'T-' || pay_no || '-X')"),
            "10");
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_conflict"), "10");

  metrics::Registry& m = service.Metrics();
  EXPECT_EQ(m.GetCounter("paynotify_notifications_applied_total", "").Value(), 150);
  EXPECT_EQ(m.GetCounter("paynotify_notifications_duplicate_total", "").Value(), 30);
  EXPECT_EQ(m.GetCounter("paynotify_notifications_pay_conflict_total", "").Value(), 10);
  EXPECT_EQ(m.GetCounter("paynotify_intake_batch_fallbacks_total", "").Value(), 0);
  metrics::Histogram& sizes =
      m.GetHistogram("paynotify_intake_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  EXPECT_EQ(sizes.Sum(), 200);  // every notification that reached the database, once
  EXPECT_LT(sizes.Count(), 200u) << "16 concurrent senders never formed a group";
}

// Graceful stop while groups are in flight: every notification gets an answer (none is cut
// off), and exactly the ones answered success are paid (a member of a group is answered after
// its group commits, before its handler returns, so the HTTP drain covers it).
TEST_F(IntakeGroupIt, StoppingWhileGroupsAreInFlightAnswersEveryMemberAndPaysExactlyTheSuccesses) {
  OrderServiceConfig config = MakeConfig();
  config.server.worker_threads = 16;
  OrderService& service = StartService(std::move(config), OrderServiceOptions{.run_relay = false});
  const std::vector<int64_t> pay_nos = CreateOrders("cs-drain", 300);
  std::vector<std::string> bodies;
  for (int64_t pay_no : pay_nos) bodies.push_back(SignedBody(Notification(pay_no, "12.30", "T-" + std::to_string(pay_no))));

  constexpr int kThreads = 16;
  std::vector<std::string> answers(bodies.size());
  std::atomic<int> answered{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", service.Port());
      client.set_read_timeout(30, 0);
      for (size_t i = t; i < bodies.size(); i += kThreads) {
        auto reply = client.Post("/orders/paynotify", bodies[i], "application/x-www-form-urlencoded");
        answers[i] = reply ? std::to_string(reply->status) + " " + reply->body.substr(0, 7) : "no response";
        ++answered;
        // After the stop the listener is closed: the rest are not sent (marked as such).
        if (!reply) break;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return answered.load() >= 40; }, 30s));
  service.Stop();  // while notifications are in flight and queued
  for (auto& s : senders) s.join();

  int successes = 0;
  for (const std::string& a : answers) {
    if (a == "200 success") ++successes;
    else EXPECT_TRUE(a.empty() || a == "no response" || a.rfind("503 ", 0) == 0) << a;
  }
  EXPECT_GE(successes, 40);
  EXPECT_LT(successes, 300) << "the stop came after every notification: it tested nothing";
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_record WHERE pay_no IN (SELECT pay_no FROM xc_pay_record p JOIN "
                   "xc_orders o ON o.id = p.order_id WHERE o.out_business_id LIKE 'cs-drain-%') AND status = '601002'"),
            std::to_string(successes))
      << "paid exactly the notifications answered success";
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), std::to_string(successes));
}

// An OrderStore whose first commit (a fast-path statement or a locking transaction's commit)
// waits at a gate: notifications queue behind it and form the next group, deterministically.
class GatedStore final : public OrderStore {
 public:
  GatedStore(OrderStore& inner, CommitGate& gate) : inner_(inner), gate_(gate) {}
  std::unique_ptr<PaymentTransaction> BeginPayment() override {
    return std::make_unique<Tx>(inner_.BeginPayment(), gate_);
  }
  std::vector<PayOutcome> PayIfPayable(const std::vector<PayAttempt>& attempts,
                                       std::string_view message_type) override {
    gate_.Hold();  // the fast path's statement is its commit
    return inner_.PayIfPayable(attempts, message_type);
  }
  OrderRef CreateOrGetOrder(const NewOrder& order) override { return inner_.CreateOrGetOrder(order); }
  std::optional<PaymentRow> FindPayment(int64_t pay_no) override { return inner_.FindPayment(pay_no); }

 private:
  class Tx final : public PaymentTransaction {
   public:
    Tx(std::unique_ptr<PaymentTransaction> inner, CommitGate& gate) : inner_(std::move(inner)), gate_(gate) {}
    std::optional<PaymentRow> LockPayment(int64_t pay_no) override { return inner_->LockPayment(pay_no); }
    OutboxRowRef MarkPaid(const PaidUpdate& u, const OutboxInsert& m) override { return inner_->MarkPaid(u, m); }
    bool RecordConflict(const PayConflict& c) override { return inner_->RecordConflict(c); }
    void Commit() override {
      gate_.Hold();
      inner_->Commit();
    }

   private:
    std::unique_ptr<PaymentTransaction> inner_;
    CommitGate& gate_;
  };
  OrderStore& inner_;
  CommitGate& gate_;
};

// An intake on the real PostgreSQL (its own pooled store) whose first commit waits at `gate`.
struct GatedIntake {
  GatedIntake(const OrderServiceConfig& config, const std::string& channel)
      : pg(config.database, 3, channel),
        store(pg, gate),
        intake(Settings(), store, SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem), registry) {}
  static IntakeSettings Settings() {
    IntakeSettings settings;
    settings.app_id = kTestAppId;
    return settings;
  }
  double Waiting() { return registry.GetGauge("paynotify_intake_batch_waiting", "").Value(); }

  PgOrderStore pg;
  CommitGate gate;
  GatedStore store;
  metrics::Registry registry;
  OrderIntake intake;
};

// A member of a group takes a trade_no another record already has (the unique index on
// out_pay_no): the group's statement fails as a whole, its members are applied one by one,
// and only that member fails (409); the others are paid. A second charge in a group is left
// by the group's statement and recorded on the locking path, beside the group's payments.
TEST_F(IntakeGroupIt, AGroupMemberBreakingTheUniqueTradeNoFallsBackAndTheOthersArePaid) {
  GatedIntake first(MakeConfig(), channel_);
  CommitGate& gate = first.gate;
  metrics::Registry& registry = first.registry;
  OrderIntake& intake = first.intake;
  const std::vector<int64_t> pay = CreateOrders("cs-fallback", 6);
  auto trade = [](int64_t pay_no) { return "T-" + std::to_string(pay_no); };
  auto waiting = [&] { return first.Waiting(); };

  // Phase 1: pay[5] is paid first (held at the gate) and then forms a clean group of three.
  std::vector<std::string> answers(8);
  std::vector<std::thread> threads;
  auto send = [&](size_t slot, int64_t pay_no, const std::string& trade_no) {
    const std::string body = SignedBody(Notification(pay_no, "12.30", trade_no));
    threads.emplace_back([&, slot, body] {
      const Reply r = intake.HandleNotify("application/x-www-form-urlencoded", body);
      answers[slot] = std::to_string(r.status) + " " + r.body;
    });
  };
  send(0, pay[5], trade(pay[5]));
  ASSERT_TRUE(gate.WaitHeld());
  // Queued behind it, in this order: a good one, one reusing pay[5]'s trade_no (committed by
  // then), a second charge for pay[5], a good one.
  send(1, pay[0], trade(pay[0]));
  ASSERT_TRUE(WaitFor([&] { return waiting() == 1; }, 5s));
  send(2, pay[1], trade(pay[5]));
  ASSERT_TRUE(WaitFor([&] { return waiting() == 2; }, 5s));
  send(3, pay[2], trade(pay[2]));
  ASSERT_TRUE(WaitFor([&] { return waiting() == 3; }, 5s));
  gate.Open();
  for (auto& t : threads) t.join();
  threads.clear();

  EXPECT_EQ(answers[0], "200 success");
  EXPECT_EQ(answers[1], "200 success");
  EXPECT_EQ(answers[2].substr(0, 12), "409 failure\n") << answers[2];
  EXPECT_EQ(answers[2].find("T-"), std::string::npos) << "database text stays in the log: " << answers[2];
  EXPECT_EQ(answers[3], "200 success");
  EXPECT_EQ(registry.GetCounter("paynotify_intake_batch_fallbacks_total", "").Value(), 1);
  metrics::Histogram& sizes = registry.GetHistogram("paynotify_intake_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  EXPECT_EQ(sizes.Count(), 2u);
  EXPECT_EQ(sizes.Sum(), 4);
  for (size_t i : {0, 2, 5}) {
    EXPECT_EQ(Scalar("SELECT out_pay_no FROM xc_pay_record WHERE pay_no = " + std::to_string(pay[i])), trade(pay[i]));
  }
  EXPECT_EQ(Scalar("SELECT status FROM xc_pay_record WHERE pay_no = " + std::to_string(pay[1])), "601001");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "3");

  // Phase 2: a group with a second charge (not paid by the group's statement: recorded alone
  // on the locking path) beside two payments, one of them pay[1] with its own trade_no now.
  GatedIntake second(MakeConfig(), channel_);
  CommitGate& gate2 = second.gate;
  metrics::Registry& registry2 = second.registry;
  OrderIntake& intake2 = second.intake;
  auto waiting2 = [&] { return second.Waiting(); };
  auto send2 = [&](size_t slot, int64_t pay_no, const std::string& trade_no) {
    const std::string body = SignedBody(Notification(pay_no, "12.30", trade_no));
    threads.emplace_back([&, slot, body] {
      const Reply r = intake2.HandleNotify("application/x-www-form-urlencoded", body);
      answers[slot] = std::to_string(r.status) + " " + r.body;
    });
  };
  send2(4, pay[3], trade(pay[3]));
  ASSERT_TRUE(gate2.WaitHeld());
  send2(5, pay[5], "T-SECOND");
  ASSERT_TRUE(WaitFor([&] { return waiting2() == 1; }, 5s));
  send2(6, pay[4], trade(pay[4]));
  ASSERT_TRUE(WaitFor([&] { return waiting2() == 2; }, 5s));
  send2(7, pay[1], trade(pay[1]));
  ASSERT_TRUE(WaitFor([&] { return waiting2() == 3; }, 5s));
  gate2.Open();
  for (auto& t : threads) t.join();
  for (size_t i = 4; i < 8; ++i) EXPECT_EQ(answers[i], "200 success") << i;
  EXPECT_EQ(registry2.GetCounter("paynotify_intake_batch_fallbacks_total", "").Value(), 0);
  metrics::Histogram& sizes2 = registry2.GetHistogram("paynotify_intake_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  EXPECT_EQ(sizes2.Count(), 2u);
  EXPECT_EQ(sizes2.Sum(), 4);
  EXPECT_EQ(registry2.GetCounter("paynotify_notifications_pay_conflict_total", "").Value(), 1);
  EXPECT_EQ(Scalar("SELECT concat_ws('|', pay_no, trade_no, recorded_trade_no) FROM xc_pay_conflict"),
            std::to_string(pay[5]) + "|T-SECOND|" + trade(pay[5]));
  EXPECT_EQ(Scalar("SELECT count(*) FROM xc_pay_record WHERE out_pay_no = 'T-' || pay_no"), "6");
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), "6");
  EXPECT_EQ(Scalar("SELECT count(DISTINCT business_key1) FROM mq_message"), "6");
}

// trade_no is the payment platform's text: within the intake's rules (64 bytes, valid UTF-8,
// no control characters) it may hold anything an array literal treats specially. Applied as
// a group (PayIfPayable's arrays), each is stored exactly as sent, no member falls back.
TEST_F(IntakeGroupIt, TradeNosThatLookLikeArraySyntaxAreStoredExactlyThroughAGroup) {
  GatedIntake gated(MakeConfig(), channel_);
  const std::vector<int64_t> pay = CreateOrders("cs-hostile-trade", 5);
  const std::vector<std::string> trade_nos = {
      "T-plain",
      R"(a"b\c,d{e}f)",
      R"({NULL,"x"})",
      "NULL",
      "  sp\xE4\xB8\xAD\xE6\x96\x87 ',\\\" }",
  };
  std::vector<std::string> answers(trade_nos.size());
  std::vector<std::thread> threads;
  auto send = [&](size_t i) {
    const std::string body = SignedBody(Notification(pay[i], "12.30", trade_nos[i]));
    threads.emplace_back([&, i, body] {
      const Reply r = gated.intake.HandleNotify("application/x-www-form-urlencoded", body);
      answers[i] = std::to_string(r.status) + " " + r.body;
    });
  };
  send(0);
  ASSERT_TRUE(gated.gate.WaitHeld());
  for (size_t i = 1; i < trade_nos.size(); ++i) {
    send(i);
    ASSERT_TRUE(WaitFor([&] { return gated.Waiting() == static_cast<double>(i); }, 5s)) << i;
  }
  gated.gate.Open();
  for (auto& t : threads) t.join();

  for (size_t i = 0; i < trade_nos.size(); ++i) {
    EXPECT_EQ(answers[i], "200 success") << i;
    EXPECT_EQ(Scalar("SELECT out_pay_no FROM xc_pay_record WHERE pay_no = " + std::to_string(pay[i])), trade_nos[i])
        << i;
  }
  EXPECT_EQ(gated.registry.GetCounter("paynotify_intake_batch_fallbacks_total", "").Value(), 0);
  metrics::Histogram& sizes =
      gated.registry.GetHistogram("paynotify_intake_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  EXPECT_EQ(sizes.Count(), 2u) << "the four queued behind the first went as one group";
  EXPECT_EQ(Scalar("SELECT count(*) FROM mq_message"), std::to_string(trade_nos.size()));
}

}  // namespace
}  // namespace paynotify::order::testing

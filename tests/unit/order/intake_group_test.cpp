// Group commit of payment notifications (issue 15 §2) against FakeOrderStore: who joins which
// group, that every member gets its own answer, the fast path's one statement per group, the
// locking path for what it leaves, and the one-by-one fallback. A commit is held open at a
// gate so that notifications queue behind it deterministically.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "order-service/intake/intake.hpp"
#include "tests/unit/order/commit_gate.hpp"
#include "tests/unit/order/fake_order_store.hpp"
#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order {
namespace {

using namespace std::chrono_literals;
using testing::CommitGate;
using testing::EncodeForm;
using testing::FakeOrderStore;

constexpr const char* kAppId = "2021000000000001";
constexpr const char* kForm = "application/x-www-form-urlencoded";

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct Sent {
  int64_t pay_no;
  std::string trade_no;
  std::string amount = "12.30";
};

class IntakeGroupTest : public ::testing::Test {
 protected:
  void Make(size_t max_batch, size_t max_batches_in_flight = 1) {
    IntakeSettings settings;
    settings.app_id = kAppId;
    settings.max_batch = max_batch;
    settings.max_batches_in_flight = max_batches_in_flight;
    intake_ = std::make_unique<OrderIntake>(settings, store_, std::nullopt, registry_);
    store_.before_commit = [this] { gate_.Hold(); };
  }
  void SetUp() override {
    for (int64_t pay_no = 1; pay_no <= 12; ++pay_no) store_.AddUnpaid(pay_no, 1230);
  }
  void TearDown() override {
    gate_.Open();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  Reply Notify(const Sent& s) {
    return intake_->HandleNotify(
        kForm, EncodeForm({{"app_id", kAppId},
                           {"out_trade_no", std::to_string(s.pay_no)},
                           {"trade_no", s.trade_no},
                           {"trade_status", "TRADE_SUCCESS"},
                           {"total_amount", s.amount}}));
  }
  // Sends on a thread of its own; the answer lands in replies_[index].
  void Start(const Sent& s) {
    const size_t index = replies_.size();
    replies_.emplace_back();
    threads_.emplace_back([this, s, index] {
      const Reply r = Notify(s);
      replies_[index] = std::to_string(r.status) + " " + r.body.substr(0, r.body.find('\n', 8));
    });
  }
  // The first notification's commit is held; then each of `queued` is sent and waits in the
  // queue (in this order) before the next is sent.
  void HoldFirstThenQueue(const Sent& first, const std::vector<Sent>& queued) {
    replies_.reserve(1 + queued.size());
    Start(first);
    ASSERT_TRUE(gate_.WaitHeld());
    for (size_t i = 0; i < queued.size(); ++i) {
      Start(queued[i]);
      ASSERT_TRUE(WaitUntil([&] { return Waiting() == static_cast<double>(i + 1); }))
          << "notification " << i << " did not queue";
    }
  }
  void Finish() {
    gate_.Open();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  double Waiting() { return registry_.GetGauge("paynotify_intake_batch_waiting", "").Value(); }
  double Counter(const std::string& name) { return registry_.GetCounter(name, "").Value(); }
  metrics::Histogram& Sizes() {
    return registry_.GetHistogram("paynotify_intake_batch_size", "", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  }

  metrics::Registry registry_;
  FakeOrderStore store_;
  CommitGate gate_;
  std::unique_ptr<OrderIntake> intake_;
  std::vector<std::thread> threads_;
  std::vector<std::string> replies_;
};

TEST_F(IntakeGroupTest, ATrickleGoesOneAtATimeEachInOneStatement) {
  Make(32);
  gate_.Open();
  for (int64_t pay_no = 1; pay_no <= 5; ++pay_no) {
    EXPECT_EQ(Notify({pay_no, "T-" + std::to_string(pay_no)}).body, "success");
  }
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(store_.begins, 0) << "a payable notification never takes the locking path";
  EXPECT_EQ(store_.commits, 5);
  EXPECT_EQ(Sizes().Count(), 5u);
  EXPECT_EQ(Sizes().Sum(), 5);
  EXPECT_EQ(Counter("paynotify_notifications_applied_total"), 5);
}

TEST_F(IntakeGroupTest, NotificationsArrivingDuringACommitAreAppliedInOneTransaction) {
  Make(32);
  std::vector<Sent> queued;
  for (int64_t pay_no = 2; pay_no <= 9; ++pay_no) queued.push_back({pay_no, "T-" + std::to_string(pay_no)});
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue({1, "T-1"}, queued));
  EXPECT_EQ(store_.commits, 0) << "nothing is answered before its commit";
  Finish();
  for (const auto& r : replies_) EXPECT_EQ(r, "200 success");
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 8}));
  EXPECT_EQ(store_.begins, 0);
  EXPECT_EQ(store_.commits, 2);
  EXPECT_EQ(store_.outbox.size(), 9u);
  for (const OutboxInsert& m : store_.outbox) {
    EXPECT_EQ(m.message_type, "payresult_notify");
    EXPECT_EQ(m.business_key1, "cs-9");
    EXPECT_EQ(m.business_key2, "60201");
    EXPECT_EQ(m.business_key3, std::nullopt);
  }
  for (int64_t pay_no = 1; pay_no <= 9; ++pay_no) {
    EXPECT_EQ(store_.payments.at(pay_no).status, kPayPaid);
    EXPECT_EQ(store_.payments.at(pay_no).out_pay_no, "T-" + std::to_string(pay_no));
  }
  EXPECT_EQ(Sizes().Count(), 2u);
  EXPECT_EQ(Sizes().Sum(), 9);
  EXPECT_EQ(Counter("paynotify_notifications_applied_total"), 9);
  EXPECT_EQ(Waiting(), 0);
}

TEST_F(IntakeGroupTest, AGroupIsBoundedByMaxBatch) {
  Make(3);
  std::vector<Sent> queued;
  for (int64_t pay_no = 2; pay_no <= 8; ++pay_no) queued.push_back({pay_no, "T-" + std::to_string(pay_no)});
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue({1, "T-1"}, queued));
  Finish();
  for (const auto& r : replies_) EXPECT_EQ(r, "200 success");
  // The held one, then 7 queued: 3 + 3, then the last alone.
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 3, 3, 1}));
  EXPECT_EQ(store_.outbox.size(), 8u);
}

// The same pay_no twice in one burst: the second waits for the next group and sees the first
// one's effect (a duplicate for the same trade_no, a recorded conflict for another). The
// group's statement leaves both: the repeat is answered from the record it read, the second
// charge is recorded alone on the locking path.
TEST_F(IntakeGroupTest, TheSamePaymentTwiceInABurstGoesInTheNextGroupAndSeesTheFirst) {
  Make(32);
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue(
      {1, "T-1"}, {{2, "T-2"}, {2, "T-2"}, {3, "T-3"}, {3, "T-3-OTHER"}, {4, "T-4"}}));
  Finish();
  for (const auto& r : replies_) EXPECT_EQ(r, "200 success");
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 3, 2}));
  EXPECT_EQ(store_.begins, 1) << "only the second charge takes the locking path";
  EXPECT_EQ(store_.outbox.size(), 4u);  // 1, 2, 3, 4 once each
  EXPECT_EQ(store_.payments.at(2).out_pay_no, "T-2");
  EXPECT_EQ(store_.payments.at(3).out_pay_no, "T-3");
  EXPECT_EQ(Counter("paynotify_notifications_duplicate_total"), 1);
  EXPECT_EQ(Counter("paynotify_notifications_pay_conflict_total"), 1);
  ASSERT_EQ(store_.conflicts.size(), 1u);
  EXPECT_EQ(store_.conflicts.begin()->first, (std::pair<int64_t, std::string>{3, "T-3-OTHER"}));
  EXPECT_EQ(store_.conflicts.begin()->second.first.recorded_trade_no, "T-3");
  EXPECT_EQ(Counter("paynotify_notifications_applied_total"), 4);
}

TEST_F(IntakeGroupTest, RejectedMembersGetTheirOwnAnswerAndDoNotAffectTheOthers) {
  Make(32);
  store_.payments.at(5).status = "601999";
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue(
      {1, "T-1"}, {{2, "T-2"}, {999, "T-999"}, {3, "T-3", "12.31"}, {5, "T-5"}, {4, "T-4"}}));
  Finish();
  EXPECT_EQ(replies_[0], "200 success");
  EXPECT_EQ(replies_[1], "200 success");
  EXPECT_EQ(replies_[2], "404 failure\nout_trade_no: unknown payNo 999");
  EXPECT_EQ(replies_[3], "400 failure\ntotal_amount: 12.31 does not equal the order's amount 12.30");
  EXPECT_EQ(replies_[4], "409 failure\nout_trade_no: payment 5 has status 601999 and cannot be paid");
  EXPECT_EQ(replies_[5], "200 success");
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 5}));
  EXPECT_EQ(store_.begins, 0) << "refusals are answered from the records the statement read";
  EXPECT_EQ(store_.commits, 2);
  EXPECT_EQ(store_.outbox.size(), 3u);
  EXPECT_EQ(store_.payments.at(3).status, kPayUnpaid);
  EXPECT_EQ(Counter("paynotify_intake_batch_fallbacks_total"), 0);
}

// A member breaks a rule only the database checks (its trade_no is another record's): the
// group's statement fails, and each member is applied alone; only that one fails (409).
TEST_F(IntakeGroupTest, AFailedGroupIsAppliedOneByOneAndOnlyTheBadMemberFails) {
  Make(32);
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue({1, "T-1"}, {{2, "T-2"}, {3, "T-1"}, {4, "T-4"}}));
  Finish();
  EXPECT_EQ(replies_[0], "200 success");
  EXPECT_EQ(replies_[1], "200 success");
  EXPECT_EQ(replies_[2].substr(0, 12), "409 failure\n") << replies_[2];
  EXPECT_EQ(replies_[3], "200 success");
  EXPECT_EQ(Counter("paynotify_intake_batch_fallbacks_total"), 1);
  EXPECT_EQ(store_.payments.at(2).status, kPayPaid);
  EXPECT_EQ(store_.payments.at(3).status, kPayUnpaid);
  EXPECT_EQ(store_.payments.at(4).status, kPayPaid);
  EXPECT_EQ(store_.outbox.size(), 3u);
  EXPECT_EQ(Counter("paynotify_notifications_applied_total"), 3);
}

TEST_F(IntakeGroupTest, AGroupFailingForAnyReasonIsRetriedOneByOne) {
  Make(32);
  store_.fail_groups_with = StoreError::Kind::kUnavailable;  // e.g. a deadlock, a lost connection
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue({1, "T-1"}, {{2, "T-2"}, {2, "T-2"}, {3, "T-3"}}));
  Finish();
  for (const auto& r : replies_) EXPECT_EQ(r, "200 success");
  // The held one alone, the group of 2 and 3 (fails, then one by one), the repeat of 2 alone.
  EXPECT_EQ(Counter("paynotify_intake_batch_fallbacks_total"), 1);
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 2, 1}));
  EXPECT_EQ(store_.outbox.size(), 3u);
  EXPECT_EQ(Counter("paynotify_notifications_duplicate_total"), 1);
}

// The database is down: every member is answered 503 at once, and the database is asked once
// for the group's statement and once for its first member, not once per member. A lone
// notification's failed statement is its answer (503), not tried again.
TEST_F(IntakeGroupTest, ADatabaseThatIsDownGivesEveryMember503WithoutOneTryEach) {
  Make(32);
  std::vector<Sent> queued;
  for (int64_t pay_no = 2; pay_no <= 7; ++pay_no) queued.push_back({pay_no, "T-" + std::to_string(pay_no)});
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue({1, "T-1"}, queued));
  {
    std::lock_guard lock(store_.mutex);
    store_.fail_with = StoreError::Kind::kUnavailable;
  }
  Finish();
  for (const auto& r : replies_) EXPECT_EQ(r.substr(0, 12), "503 failure\n") << r;
  // The held one's statement (it fails once the gate opens), then the group of six.
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 6}));
  EXPECT_EQ(store_.begins, 1) << "the group's first member alone, and no other member";
  EXPECT_EQ(store_.commits, 0);
  EXPECT_EQ(Counter("paynotify_intake_batch_fallbacks_total"), 1);
  EXPECT_EQ(registry_.GetCounter("paynotify_notifications_rejected_total", "", {{"reason", "database_unavailable"}})
                .Value(),
            7);
}

// The statement commits and its answer is lost (the connection breaks before it arrives):
// alone, that is 503 (the platform retries, and its repeat is a duplicate); in a group, the
// members are applied one by one, find their records paid, and are answered success. Every
// payment has exactly one outbox row.
TEST_F(IntakeGroupTest, AStatementWhoseAnswerWasLostAfterItsCommitPaysEachPaymentOnce) {
  Make(32);
  store_.lose_answer_after_commit = true;
  ASSERT_NO_FATAL_FAILURE(HoldFirstThenQueue({1, "T-1"}, {{2, "T-2"}, {3, "T-3"}, {4, "T-4"}}));
  Finish();
  EXPECT_EQ(replies_[0].substr(0, 12), "503 failure\n") << replies_[0];
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(replies_[i], "200 success") << i;
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 3}));
  EXPECT_EQ(Counter("paynotify_intake_batch_fallbacks_total"), 1);
  EXPECT_EQ(Counter("paynotify_notifications_duplicate_total"), 3) << "found paid on the locking path";
  EXPECT_EQ(store_.outbox.size(), 4u);
  for (int64_t pay_no = 1; pay_no <= 4; ++pay_no) EXPECT_EQ(store_.payments.at(pay_no).status, kPayPaid);
  store_.lose_answer_after_commit = false;
  EXPECT_EQ(Notify({1, "T-1"}).body, "success") << "the platform's retry of the lone one";
  EXPECT_EQ(store_.outbox.size(), 4u);
}

// max-batch 1 is one statement per notification: no queue, concurrent statements (the
// others finish while the first is still held).
TEST_F(IntakeGroupTest, MaxBatchOneIsOneTransactionPerNotificationConcurrently) {
  Make(1);
  replies_.reserve(6);
  Start({1, "T-1"});
  ASSERT_TRUE(gate_.WaitHeld());
  for (int64_t pay_no = 2; pay_no <= 6; ++pay_no) Start({pay_no, "T-" + std::to_string(pay_no)});
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard lock(store_.mutex);
    return store_.commits == 5;
  })) << "the others committed while the first was held";
  EXPECT_EQ(Waiting(), 0);
  Finish();
  for (const auto& r : replies_) EXPECT_EQ(r, "200 success");
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(store_.commits, 6);
  EXPECT_EQ(Sizes().Count(), 6u);
}

// intake.max-batches-in-flight: that many groups commit side by side, and no more; what
// arrives meanwhile waits and then goes as one group.
TEST_F(IntakeGroupTest, MaxBatchesInFlightBoundsTheGroupsCommittingAtOnce) {
  Make(32, 2);
  // Holds every commit until opened. Shared with the hook, and opened on any way out of the
  // test, so that a failed assertion cannot leave a sender blocked on a dead frame.
  struct Hold {
    std::mutex mutex;
    std::condition_variable changed;
    int held = 0;
    bool open = false;
    void Open() {
      {
        std::lock_guard lock(mutex);
        open = true;
      }
      changed.notify_all();
    }
  };
  const auto hold = std::make_shared<Hold>();
  store_.before_commit = [hold] {
    std::unique_lock lock(hold->mutex);
    ++hold->held;
    hold->changed.notify_all();
    hold->changed.wait(lock, [&] { return hold->open; });
  };
  struct OpenOnExit {
    std::shared_ptr<Hold> hold;
    ~OpenOnExit() { hold->Open(); }
  } open_on_exit{hold};
  const auto held_now = [&] {
    std::lock_guard lock(hold->mutex);
    return hold->held;
  };
  replies_.reserve(4);
  Start({1, "T-1"});
  ASSERT_TRUE(WaitUntil([&] { return held_now() == 1; }));
  Start({2, "T-2"});  // a second group may start while the first commits
  ASSERT_TRUE(WaitUntil([&] { return held_now() == 2; }));
  Start({3, "T-3"});
  ASSERT_TRUE(WaitUntil([&] { return Waiting() == 1; }));
  Start({4, "T-4"});
  ASSERT_TRUE(WaitUntil([&] { return Waiting() == 2; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(held_now(), 2) << "a third group started with two in flight";
  hold->Open();
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (const auto& r : replies_) EXPECT_EQ(r, "200 success");
  EXPECT_EQ(held_now(), 3);  // 1 and 2 alone, then 3 and 4 together
  EXPECT_EQ(store_.pay_statements, (std::vector<size_t>{1, 1, 2}));
  EXPECT_EQ(store_.outbox.size(), 4u);
  EXPECT_EQ(Waiting(), 0);
}

}  // namespace
}  // namespace paynotify::order

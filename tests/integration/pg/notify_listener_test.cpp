#include "common/pg/notify_listener.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include <pqxx/pqxx>

#include "tests/integration/pg/pg_test_env.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::pg {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::UniqueName;
using Clock = std::chrono::steady_clock;

// NOTIFY from a separate connection; pg_notify takes the channel name verbatim, matching the
// listener's quoted LISTEN (unique names contain dots and would be invalid unquoted).
void Notify(const std::string& channel, const std::string& payload = "") {
  auto conn = testing::Admin();
  pqxx::nontransaction tx(*conn);
  tx.exec_params("SELECT pg_notify($1, $2)", channel, payload);
}

TEST(NotifyListener, NotifyFromAnotherConnectionWakesAWaitingListener) {
  const std::string channel = UniqueName("pg.notify");
  NotifyListener listener(testing::OrdersSettings(), channel);
  ASSERT_TRUE(listener.IsConnected());

  const auto start = Clock::now();
  auto waiting = std::async(std::launch::async, [&] { return listener.Wait(20s); });
  // The NOTIFY may come before or after the listener blocks: both must wake it.
  Notify(channel, "42");
  EXPECT_TRUE(waiting.get());
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST(NotifyListener, ANotificationSentBeforeWaitIsNotLost) {
  const std::string channel = UniqueName("pg.notify");
  NotifyListener listener(testing::OrdersSettings(), channel);
  Notify(channel);
  EXPECT_TRUE(listener.Wait(10s));
}

TEST(NotifyListener, NotificationsOnOtherChannelsDoNotWakeIt) {
  const std::string channel = UniqueName("pg.notify");
  NotifyListener listener(testing::OrdersSettings(), channel);
  // A control listener on the other channel proves the notification was sent and delivered,
  // and how long delivery took here and now: a quiet `listener` then means "filtered", not
  // "not arrived yet". Both backends receive a NOTIFY at the same commit.
  NotifyListener control(testing::OrdersSettings(), channel + ".other");
  ASSERT_TRUE(listener.IsConnected());
  ASSERT_TRUE(control.IsConnected());
  Notify(channel + ".other");  // returns once committed
  const auto start = Clock::now();
  ASSERT_TRUE(control.Wait(10s)) << "the control listener never received the notification";
  const auto delivery = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  // The control has it, so this listener's backend had it at the same time. Wait many times
  // the delivery just measured, never under 300 ms: a busy machine that delayed the control
  // delays this listener the same way.
  EXPECT_FALSE(listener.Wait(std::max(300ms, 10 * delivery))) << "woken by another channel's NOTIFY";
  // And it was listening all along: its own channel wakes it.
  Notify(channel);
  EXPECT_TRUE(listener.Wait(10s));
}

TEST(NotifyListener, WaitTimesOutWithFalseWithinTheBound) {
  NotifyListener listener(testing::OrdersSettings(), UniqueName("pg.notify"));
  const auto start = Clock::now();
  EXPECT_FALSE(listener.Wait(300ms));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 2300ms);  // generous: the machine may be busy
}

TEST(NotifyListener, ReconnectsAfterItsBackendIsTerminatedAndListensAgain) {
  const std::string app = UniqueName("pg-listener");
  const std::string channel = UniqueName("pg.notify");
  NotifyListener listener(testing::OrdersSettings(app), channel);
  const std::vector<int> before = testing::BackendsOf(app);
  ASSERT_EQ(before.size(), 1u);

  ASSERT_NO_FATAL_FAILURE(testing::TerminateBackend(before[0]));
  // Returns true once after reconnecting (notifications may have been missed); never throws.
  EXPECT_TRUE(listener.Wait(10s));
  EXPECT_TRUE(listener.IsConnected());
  const std::vector<int> after = testing::BackendsOf(app);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], before[0]);

  // Quiet again, and LISTEN was re-issued on the new connection.
  EXPECT_FALSE(listener.Wait(200ms));
  Notify(channel);
  EXPECT_TRUE(listener.Wait(10s));
}

// Pending() (the relay asks it between a batch's rounds) reads what has arrived without
// waiting: false when nothing did, true once for a notification, which it consumes. With its
// backend gone it answers false and does not reconnect: Wait() does that.
TEST(NotifyListener, PendingTellsWhatArrivedWithoutWaitingOrReconnecting) {
  const std::string app = UniqueName("pg-listener");
  const std::string channel = UniqueName("pg.notify");
  NotifyListener listener(testing::OrdersSettings(app), channel);
  ASSERT_TRUE(listener.IsConnected());
  EXPECT_FALSE(listener.Pending());
  Notify(channel);  // committed: delivered to the listener's socket shortly after
  bool seen = false;
  for (const auto deadline = Clock::now() + 10s; !seen && Clock::now() < deadline;) {
    seen = listener.Pending();
    if (!seen) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(seen);
  EXPECT_FALSE(listener.Pending()) << "consumed by the call that saw it";
  EXPECT_FALSE(listener.Wait(100ms)) << "consumed for Wait() too";

  const std::vector<int> before = testing::BackendsOf(app);
  ASSERT_EQ(before.size(), 1u);
  ASSERT_NO_FATAL_FAILURE(testing::TerminateBackend(before[0]));
  EXPECT_FALSE(listener.Pending());
  EXPECT_TRUE(testing::BackendsOf(app).empty()) << "Pending() reconnected";
  EXPECT_TRUE(listener.Wait(10s));  // reconnected: re-poll
  Notify(channel);
  EXPECT_TRUE(listener.Wait(10s));
}

// Pending(within) (the relay keeps a batch open that long for new rows) waits up to `within`
// for a notification: true as soon as one arrives, false once the time has passed, and false
// at once with the connection gone, without reconnecting.
TEST(NotifyListener, PendingWithinWaitsThatLongForANotificationAndNoLonger) {
  const std::string app = UniqueName("pg-listener");
  const std::string channel = UniqueName("pg.notify");
  NotifyListener listener(testing::OrdersSettings(app), channel);
  ASSERT_TRUE(listener.IsConnected());

  auto started = Clock::now();
  EXPECT_FALSE(listener.Pending(150ms));
  EXPECT_GE(Clock::now() - started, 150ms) << "it did not wait";
  EXPECT_LT(Clock::now() - started, 5s);

  std::future<void> sent = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(100ms);
    Notify(channel);
  });
  started = Clock::now();
  EXPECT_TRUE(listener.Pending(20s));
  EXPECT_LT(Clock::now() - started, 2s) << "it waited out the time after the notification came";
  sent.get();
  EXPECT_FALSE(listener.Pending(std::chrono::milliseconds(0))) << "consumed by the call that saw it";

  const std::vector<int> before = testing::BackendsOf(app);
  ASSERT_EQ(before.size(), 1u);
  ASSERT_NO_FATAL_FAILURE(testing::TerminateBackend(before[0]));
  started = Clock::now();
  // The server's close reaches the socket shortly after the backend ends; from then on the
  // answer is false at once (the first call may still wait out its time on a live socket).
  EXPECT_FALSE(listener.Pending(200ms));
  EXPECT_FALSE(listener.Pending(20s));
  EXPECT_LT(Clock::now() - started, 2s) << "it waited on a connection that is gone";
  EXPECT_FALSE(listener.IsConnected());
  EXPECT_TRUE(testing::BackendsOf(app).empty()) << "Pending() reconnected";
  EXPECT_TRUE(listener.Wait(10s));  // reconnected: re-poll
}

TEST(NotifyListener, AnUnreachableServerIsNotAnErrorOnlyATimeout) {
  PgSettings settings = testing::OrdersSettings();
  settings.port = 1;  // nothing listens there: connection refused at once
  NotifyListener listener(settings, UniqueName("pg.notify"));
  EXPECT_FALSE(listener.IsConnected());
  const auto start = Clock::now();
  EXPECT_FALSE(listener.Wait(300ms));
  EXPECT_LT(Clock::now() - start, 2300ms);
  EXPECT_FALSE(listener.IsConnected());
}

}  // namespace
}  // namespace paynotify::pg

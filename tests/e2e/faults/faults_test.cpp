// End-to-end proof of "nothing lost, nothing applied twice" (issue 5): the real daemons as
// processes, the real PostgreSQL and RabbitMQ, and the faults production sees, each hitting
// while payments are in flight. Every case ends with the same check (PaySystem::Check):
// every selection paid with exactly one course-table row, every order paid, the outbox
// empty, exactly one message produced per payment and exactly one inbox row per message.
//
// PAYNOTIFY_E2E_PAYMENTS sets N (default 2000).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::e2e {
namespace {

namespace t = paynotify::testing;
using namespace std::chrono_literals;

// After the last fault every payment must be applied within this bound.
constexpr auto kConvergeBound = 120s;

int Payments() {
  const char* text = std::getenv("PAYNOTIFY_E2E_PAYMENTS");
  return text != nullptr ? std::atoi(text) : 2000;
}

class FaultTest : public ::testing::Test {
 protected:
  struct Outcome {
    Convergence convergence;
    double converge_seconds = 0;
  };

  /// Creates N selections and orders, sends the notifications (`copies` each) on a second
  /// thread and, once a third of them have been answered, runs `fault` — so the fault hits
  /// with payments in flight at every stage (intake, outbox, broker, consumer). Then waits
  /// for convergence, bounded, timed from the end of the fault.
  Outcome Run(PaySystem& system, int copies, const std::function<void()>& fault) {
    const int n = Payments();
    selections_ = system.CreateSelections(n);
    const auto pay_nos = system.CreateOrders(selections_, 16);
    auto notifying = std::async(std::launch::async, [&] { return system.NotifyAll(pay_nos, 16, copies); });
    if (fault) {
      EXPECT_TRUE(t::WaitFor([&] { return system.notified() >= n * copies / 3; }, 120s))
          << "notifications stalled before the fault; " << system.LogTails();
      fault();
    }
    const int answered = notifying.get();
    EXPECT_EQ(answered, n * copies);
    const auto fault_end = std::chrono::steady_clock::now();
    Outcome outcome;
    outcome.convergence = system.WaitConverged(selections_, kConvergeBound);
    outcome.converge_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - fault_end).count();
    EXPECT_TRUE(outcome.convergence.Done())
        << "not converged within " << kConvergeBound.count() << "s: " << outcome.convergence.Describe()
        << "\n" << system.LogTails();
    return outcome;
  }

  /// Waits until the system has applied at least one more payment than now (or all of
  /// them): proof that it recovered from a fault before the next one hits. Bounded.
  void WaitForRecovery(PaySystem& system) {
    const auto applied = [&] {
      try {
        return system.Check(selections_).course_rows;
      } catch (const std::exception&) {
        return -1;  // the database is still coming back
      }
    };
    int before = -1;
    t::WaitFor([&] { return (before = applied()) >= 0; }, 60s);
    EXPECT_TRUE(t::WaitFor(
        [&] {
          const int now = applied();
          return now > before || now == static_cast<int>(selections_.size());
        },
        120s))
        << "no progress after the fault; " << system.LogTails();
  }

  static void Restart(const std::string& server) {
    std::string output;
    ASSERT_EQ(t::Infra("restart " + server, &output), 0) << output;
  }

  std::vector<int64_t> selections_;
};

TEST_F(FaultTest, BaselineEveryPaymentAppliedOnceAndMetricsAgree) {
  PaySystem system("baseline");
  system.StartAll();
  const Outcome o = Run(system, 1, nullptr);
  ASSERT_TRUE(o.convergence.Done());
  const int n = Payments();
  // Without faults each payment was received, applied and published exactly once.
  const std::string order_metrics = system.Metrics(true, 0);
  const std::string learning_metrics = system.Metrics(false, 0);
  EXPECT_EQ(MetricValue(order_metrics, "paynotify_notifications_applied_total"), n);
  EXPECT_GE(MetricValue(order_metrics, "paynotify_relay_confirmed_total"), n);
  EXPECT_EQ(MetricValue(learning_metrics, "paynotify_learning_applied_total"), n) << learning_metrics;
  EXPECT_EQ(system.DeadLetterCount(), 0u);
  PrintSummary("baseline", o.convergence, "none", o.converge_seconds);
}

TEST_F(FaultTest, RabbitMqRestartedTwiceMidRun) {
  PaySystem system("broker-restart");
  system.StartAll();
  const Outcome o = Run(system, 1, [&] {
    Restart("rabbitmq");
    WaitForRecovery(system);
    Restart("rabbitmq");
  });
  EXPECT_EQ(system.DeadLetterCount(), 0u);
  PrintSummary("broker-restart", o.convergence, "rabbitmq restart x2", o.converge_seconds,
               "notification_retransmissions=" + std::to_string(system.retransmissions()));
}

// Both databases live in the one local PostgreSQL cluster, so restarting it restarts the
// orders and the learning database at once (the harder case: intake, relay and consumer all
// lose their connections together). It is restarted twice.
TEST_F(FaultTest, PostgresRestartedTwiceMidRun) {
  PaySystem system("pg-restart");
  system.StartAll();
  const Outcome o = Run(system, 1, [&] {
    Restart("postgres");
    WaitForRecovery(system);
    Restart("postgres");
  });
  EXPECT_EQ(system.DeadLetterCount(), 0u);
  PrintSummary("postgres-restart", o.convergence, "postgres restart x2 (orders+learning dbs)",
               o.converge_seconds, "notification_retransmissions=" + std::to_string(system.retransmissions()));
}

TEST_F(FaultTest, OrderServiceKill9MidRunThenRestarted) {
  PaySystem system("order-kill9");
  system.StartAll();
  const Outcome o = Run(system, 1, [&] {
    system.Kill9Order(0);
    system.StartOrder(0);
  });
  PrintSummary("order-kill9", o.convergence, "order-service kill -9", o.converge_seconds,
               "notification_retransmissions=" + std::to_string(system.retransmissions()));
}

TEST_F(FaultTest, LearningServiceKill9WithUnackedMessagesThenRestarted) {
  PaySystem system("learning-kill9");
  system.StartAll();
  const Outcome o = Run(system, 1, [&] {
    // Wait until the consumer is busy (it has applied something), so deliveries are unacked.
    EXPECT_TRUE(t::WaitFor([&] { return system.Check(selections_).course_rows > 0; }, 60s));
    system.Kill9Learning(0);
    system.StartLearning(0);
  });
  const double duplicates = MetricValue(system.Metrics(false, 0), "paynotify_learning_duplicates_total");
  PrintSummary("learning-kill9", o.convergence, "learning-service kill -9", o.converge_seconds,
               "duplicates_absorbed_after_restart=" + std::to_string(static_cast<int>(duplicates)));
}

TEST_F(FaultTest, EveryNotificationSentThreeTimesConcurrently) {
  PaySystem system("triple-notify");
  system.StartAll();
  const Outcome o = Run(system, 3, nullptr);
  const std::string order_metrics = system.Metrics(true, 0);
  EXPECT_EQ(MetricValue(order_metrics, "paynotify_notifications_applied_total"), Payments());
  EXPECT_EQ(MetricValue(order_metrics, "paynotify_notifications_duplicate_total"), 2 * Payments());
  PrintSummary("triple-notify", o.convergence, "none (3 copies per notification)", o.converge_seconds,
               "duplicate_notifications_absorbed=" +
                   std::to_string(static_cast<int>(MetricValue(order_metrics, "paynotify_notifications_duplicate_total"))));
}

TEST_F(FaultTest, PoisonMessagesAreDeadLetteredAndGoodOnesApplied) {
  PaySystem system("poison");
  system.StartAll();
  constexpr int kMalformed = 5;
  constexpr int kUnknownSelection = 5;
  const Outcome o = Run(system, 1, [&] {
    std::vector<PaySystem::RawMessage> poison;
    for (int i = 0; i < kMalformed; ++i) {
      poison.push_back({"{\"id\": " + std::to_string(i) + ", \"messageType\": ", t::UniqueName("poison-json")});
    }
    for (int i = 0; i < kUnknownSelection; ++i) {
      poison.push_back({R"({"id":)" + std::to_string(900000 + i) +
                            R"(,"messageType":"payresult_notify","businessKey1":"99999999999)" + std::to_string(i) +
                            R"(","businessKey2":"60201"})",
                        t::UniqueName("poison-selection")});
    }
    system.PublishRaw(poison);
  });
  ASSERT_TRUE(t::WaitFor([&] { return system.DeadLetterCount() >= kMalformed + kUnknownSelection; }, 60s, 250ms))
      << "dead letters: " << system.DeadLetterCount() << "\n" << system.LogTails();
  const auto dead = system.DrainDeadLetters();
  int malformed = 0, missing = 0;
  for (const auto& [body, reason] : dead) {
    if (reason == "malformed-json") ++malformed;
    if (reason == "selection-missing") ++missing;
  }
  EXPECT_EQ(static_cast<int>(dead.size()), kMalformed + kUnknownSelection);
  EXPECT_EQ(malformed, kMalformed);
  EXPECT_EQ(missing, kUnknownSelection);
  PrintSummary("poison", o.convergence, "10 poison messages", o.converge_seconds,
               "dead_lettered=" + std::to_string(dead.size()));
}

TEST_F(FaultTest, TwoOfEachServiceThenOneOfEachKilled) {
  PaySystem system("replicas", 2, 2);
  system.StartAll();
  const Outcome o = Run(system, 1, [&] {
    system.Kill9Order(1);
    system.Kill9Learning(1);
  });
  PrintSummary("replicas", o.convergence, "2+2 replicas, one of each kill -9", o.converge_seconds,
               "notification_retransmissions=" + std::to_string(system.retransmissions()));
}

}  // namespace
}  // namespace paynotify::e2e

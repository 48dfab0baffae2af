#pragma once
// The fault-scenario fixture shared by the e2e fault tests (tests/e2e/faults: one node;
// tests/e2e/cluster: a three-node RabbitMQ cluster). FaultTest::Run drives N payments
// through a PaySystem while a scenario's fault hits, records what was in flight at each
// injection (a minimum is required: a fault that hit an idle system proved nothing) and ends
// with the verdict: nothing lost, nothing produced twice, nothing applied twice.
//
// PAYNOTIFY_E2E_PAYMENTS sets N (default 2000; below ~300 the fault scenarios fail, since
// the run would finish before the fault).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::e2e {

// Test-only header: the short names its users (the e2e scenario files) use too.
namespace t = paynotify::testing;
using namespace std::chrono_literals;

// After the last fault every payment must be applied within this bound.
inline constexpr auto kConvergeBound = std::chrono::seconds(120);

// A fault must hit with at least this many payments still to be applied (see Run). With the
// default 2000 payments a first fault hits with 1,300-1,700 to go (and a second one, after
// NextWave, with about 650). So PAYNOTIFY_E2E_PAYMENTS must be at least ~300.
inline constexpr int kMinInFlight = 100;

inline int Payments() {
  const char* text = std::getenv("PAYNOTIFY_E2E_PAYMENTS");
  return text != nullptr ? std::atoi(text) : 2000;
}

class FaultTest : public ::testing::Test {
 protected:
  struct Outcome {
    Convergence convergence;
    double converge_seconds = 0;
    std::string in_flight;  // what was in flight at each injection, for the summary
  };

  /// Creates N selections and orders and sends the notifications (`copies` each) on a second
  /// thread in `waves` equal parts; once a third of the first part has been answered, runs
  /// `fault` — so the fault hits with payments in flight at every stage (intake, outbox,
  /// broker, consumer). A server restart takes seconds (a broker's ~10-30 s here): enough for
  /// the pipeline to drain everything sent, so the restart scenarios hold parts back and
  /// release them while the server is down (NextWave, ReleaseNextWave). `fault` calls
  /// Injecting() at each injection; every injection must find at least
  /// kMinInFlight payments not yet applied, or the scenario proved nothing. Then waits for
  /// convergence, bounded, timed from the end of the fault, and checks the verdict: nothing
  /// lost, nothing produced twice, nothing applied twice. Fatal failures inside `fault` end
  /// the run: call it as ASSERT_NO_FATAL_FAILURE(Run(...)).
  void Run(PaySystem& system, int copies, const std::function<void()>& fault, Outcome* outcome, int waves = 1) {
    const int n = Payments();
    selections_ = system.CreateSelections(n);
    const auto pay_nos = system.CreateOrders(selections_, 16);
    std::vector<std::vector<int64_t>> parts(waves);
    for (size_t i = 0; i < pay_nos.size(); ++i) parts[i * waves / pay_nos.size()].push_back(pay_nos[i]);
    copies_ = copies;
    wave_sizes_.clear();
    for (const auto& part : parts) wave_sizes_.push_back(static_cast<int>(part.size()));
    released_ = 1;
    auto notifying = std::async(std::launch::async, [&] {
      int answered = 0;
      for (int w = 0; w < waves; ++w) {
        while (released_.load() <= w) std::this_thread::sleep_for(20ms);
        answered += system.SendNotifications(system.SignNotifications(parts[w], copies), 16, std::chrono::seconds(300),
                                             notify_rate_);
      }
      return answered;
    });
    // Whatever happens below, the notifier must not wait for a release that never comes.
    struct ReleaseAll {
      std::atomic<int>& released;
      int waves;
      ~ReleaseAll() { released = waves; }
    } release_all{released_, waves};
    if (fault) {
      ASSERT_TRUE(t::WaitFor([&] { return system.notified() >= wave_sizes_[0] * copies / 3; }, 120s))
          << "notifications stalled before the fault; " << system.LogTails();
      fault();
      if (HasFatalFailure()) return;
      ASSERT_FALSE(in_flight_.empty()) << "the scenario's fault never called Injecting()";
      for (size_t i = 0; i < in_flight_.size(); ++i) {
        if (i > 0) outcome->in_flight += "; ";
        outcome->in_flight += in_flight_[i].Describe();
        EXPECT_GE(in_flight_[i].not_applied, kMinInFlight)
            << "fault " << i + 1 << " hit when only " << in_flight_[i].not_applied << " of " << n
            << " payments were left to apply: the run (nearly) finished before the fault, so it proves"
               " nothing. Raise PAYNOTIFY_E2E_PAYMENTS (now "
            << n << "; at least ~" << 3 * kMinInFlight << " is needed).";
      }
    }
    ASSERT_EQ(released_.load(), waves) << "the fault released " << released_.load() - 1 << " of " << waves - 1
                                       << " held-back waves (NextWave)";
    const int answered = notifying.get();
    EXPECT_EQ(answered, n * copies);
    const auto fault_end = std::chrono::steady_clock::now();
    outcome->convergence = system.WaitConverged(selections_, kConvergeBound);
    outcome->converge_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - fault_end).count();
    const Convergence& c = outcome->convergence;
    EXPECT_TRUE(c.Settled()) << "not converged within " << kConvergeBound.count() << "s: " << c.Describe()
                             << "\n" << system.LogTails();
    // The verdict, each figure on its own so a failure names it.
    EXPECT_EQ(c.expected - c.course_rows, 0) << "lost; " << c.Describe();
    ASSERT_TRUE(c.audited && c.MessagesKnown()) << "the verdict needs the audit triggers; " << c.Describe();
    EXPECT_EQ(c.produced_twice, 0) << "payments produced twice (outbox audit); " << c.Describe();
    EXPECT_EQ(c.messages_produced, c.expected) << "one message per payment (outbox audit); " << c.Describe();
    EXPECT_EQ(c.inbox_once, c.expected) << "exactly one inbox row per payment; " << c.Describe();
    EXPECT_EQ(c.inbox_rows, c.expected) << c.Describe();
    EXPECT_EQ(c.applied_twice, 0) << "selections applied twice (audit triggers); " << c.Describe();
    EXPECT_EQ(c.applied_once, c.expected) << "selections applied exactly once (audit triggers); " << c.Describe();
    if (c.history_kept) {
      EXPECT_EQ(c.history_rows, c.expected) << "one history row per payment; " << c.Describe();
    } else {
      EXPECT_EQ(c.history_rows, 0) << "keep-history=false must leave no history; " << c.Describe();
    }
    EXPECT_TRUE(c.Done()) << c.Describe();
  }

  /// When an outage records what it holds up (Injecting): while the server is down, or the
  /// moment it is back (what is in flight can only be read from a running PostgreSQL).
  enum class ReadInFlight { kWhileDown, kWhenBack };

  /// Run() with `server` ("rabbitmq", "postgres") stopped twice: stop it, run `while_down`
  /// (release a held-back wave), start it, record what is in flight (at `read`); then
  /// WaitForRecovery and the same again. Three waves, one copy of each notification. Fatal
  /// failures end the run: call it as ASSERT_NO_FATAL_FAILURE(RunWithServerStoppedTwice(...)).
  void RunWithServerStoppedTwice(PaySystem& system, const std::string& server, const std::function<void()>& while_down,
                                 ReadInFlight read, Outcome* outcome) {
    const auto outage = [&] {
      ASSERT_TRUE(Infra("stop " + server));
      ASSERT_NO_FATAL_FAILURE(while_down());
      if (read == ReadInFlight::kWhileDown) Injecting(system);
      ASSERT_TRUE(Infra("start " + server));
      if (read == ReadInFlight::kWhenBack) Injecting(system);
    };
    const auto fault = [&] {
      ASSERT_NO_FATAL_FAILURE(outage());
      ASSERT_NO_FATAL_FAILURE(WaitForRecovery(system));
      ASSERT_NO_FATAL_FAILURE(outage());
    };
    ASSERT_NO_FATAL_FAILURE(Run(system, 1, fault, outcome, /*waves=*/3));
  }

  /// Releases the next held-back part of the notifications and waits until a third of it has
  /// been answered, so the next injection hits a system busy again (or, called while the
  /// broker is down, so the outage holds work). Bounded.
  void NextWave(PaySystem& system) {
    const int wave = released_.load();
    ASSERT_NO_FATAL_FAILURE(ReleaseNextWave());
    int before = 0;
    for (int w = 0; w < wave; ++w) before += wave_sizes_[w] * copies_;
    ASSERT_TRUE(t::WaitFor([&] { return system.notified() >= before + wave_sizes_[wave] * copies_ / 3; }, 120s))
        << "notifications of wave " << wave + 1 << " stalled; " << system.LogTails();
  }

  /// Lets the notifier send the next held-back part of the notifications; returns at once.
  void ReleaseNextWave() {
    const int wave = released_.load();
    ASSERT_LT(wave, static_cast<int>(wave_sizes_.size())) << "no held-back wave left";
    released_ = wave + 1;
  }

  /// Call immediately before injecting a fault (or, for a server outage, while or as soon as
  /// it is over): records what is in flight at that moment.
  void Injecting(PaySystem& system) { in_flight_.push_back(system.InFlightNow(selections_)); }

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
    ASSERT_TRUE(t::WaitFor([&] { return (before = applied()) >= 0; }, 60s)) << "databases never came back";
    ASSERT_TRUE(t::WaitFor(
        [&] {
          const int now = applied();
          // All released payments applied: nothing left that could make progress.
          return now > before || now >= ReleasedPayments();
        },
        120s))
        << "no progress after the fault; " << system.LogTails();
  }

  /// Payments whose notifications the notifier may send by now (see NextWave).
  int ReleasedPayments() const {
    int n = 0;
    for (int w = 0; w < released_.load() && w < static_cast<int>(wave_sizes_.size()); ++w) n += wave_sizes_[w];
    return n;
  }

  /// `scripts/infra <args>`, e.g. "restart postgres"; the result to ASSERT on.
  static ::testing::AssertionResult Infra(const std::string& args) {
    std::string output;
    if (t::Infra(args, &output) == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "infra " << args << " failed:\n" << output;
  }
  static ::testing::AssertionResult Restart(const std::string& server) { return Infra("restart " + server); }

  std::vector<int64_t> selections_;
  std::vector<InFlight> in_flight_;
  std::vector<int> wave_sizes_;
  int copies_ = 1;
  std::atomic<int> released_{1};  // waves the notifier may send
  /// Notifications per second the notifier sends (0: as fast as its 16 connections go). The
  /// cluster scenarios pace it so that a wave is still being sent while a node is stopped
  /// or killed (at full speed a wave is answered and applied within about a second).
  double notify_rate_ = 0;
};

}  // namespace paynotify::e2e

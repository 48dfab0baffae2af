// ResolveWithDeadline: a DNS that does not answer must not hold the caller past its timeout,
// nor hold up other names.
#include "common/runtime/resolve.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace paynotify::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A resolver that blocks until released, as glibc's does while an upstream DNS stays silent.
// Its state is shared with the lookup threads, which may outlive a failed test's scope.
class HangingResolver {
 public:
  BlockingResolve Function() {
    return [state = state_](const std::string&) {
      std::unique_lock lock(state->mutex);
      state->cv.wait(lock, [&] { return state->released; });
      return ResolveResult{{"10.0.0.9"}, {}};
    };
  }
  void Release() {
    std::lock_guard lock(state_->mutex);
    state_->released = true;
    state_->cv.notify_all();
  }
  ~HangingResolver() { Release(); }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool released = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

void WaitUntilNoLookupsInFlight() {
  const auto deadline = Clock::now() + 5s;
  while (LookupsInFlight() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(LookupsInFlight(), 0);
}

TEST(ResolveWithDeadline, NumericAddressesAreReturnedWithoutALookup) {
  std::atomic<int> calls{0};
  const BlockingResolve counting = [&](const std::string&) {
    ++calls;
    return ResolveResult{{}, "must not be called"};
  };
  for (const std::string host : {"127.0.0.1", "10.89.0.4", "::1", "fe80::1", "fe80::1%eth0"}) {
    const ResolveResult r = ResolveWithDeadline(host, 1ms, counting);
    ASSERT_TRUE(r.ok()) << host << ": " << r.error;
    ASSERT_EQ(r.addresses, std::vector<std::string>{host});
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(ResolveWithDeadline, AnswerWithinTheTimeoutIsReturned) {
  const BlockingResolve quick = [](const std::string& host) {
    EXPECT_EQ(host, "rabbitmq");
    return ResolveResult{{"10.89.0.4", "fd00::4"}, {}};
  };
  const ResolveResult r = ResolveWithDeadline("rabbitmq", 5s, quick);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.addresses, (std::vector<std::string>{"10.89.0.4", "fd00::4"}));
  WaitUntilNoLookupsInFlight();
}

TEST(ResolveWithDeadline, FailureNamesTheHost) {
  const BlockingResolve failing = [](const std::string&) {
    return ResolveResult{{}, "Name or service not known"};
  };
  const ResolveResult r = ResolveWithDeadline("no-such-host", 5s, failing);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_EQ(r.error, "resolving 'no-such-host': Name or service not known");
}

TEST(ResolveWithDeadline, AResolverThatThrowsAnythingIsAnError) {
  const BlockingResolve throwing = [](const std::string&) -> ResolveResult {
    throw std::runtime_error("boom");
  };
  ResolveResult r = ResolveWithDeadline("h", 5s, throwing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, "resolving 'h': boom");
  const BlockingResolve throwing_int = [](const std::string&) -> ResolveResult { throw 42; };
  r = ResolveWithDeadline("h2", 5s, throwing_int);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, "resolving 'h2': the resolver failed");
  WaitUntilNoLookupsInFlight();
}

TEST(ResolveWithDeadline, AHangingLookupIsLeftBehindAtTheTimeout) {
  HangingResolver dns;
  const auto start = Clock::now();
  const ResolveResult r = ResolveWithDeadline("rabbitmq", 200ms, dns.Function());
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, "resolving 'rabbitmq' took longer than 200ms (DNS not answering?)");
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(LookupsInFlight(), 1);
  // The lookup finishing later is dropped, and its thread goes away.
  dns.Release();
  WaitUntilNoLookupsInFlight();
}

TEST(ResolveWithDeadline, CallersForAHangingNameShareOneLookupAndOtherNamesAreUnaffected) {
  HangingResolver dns;
  auto started = std::make_shared<std::atomic<int>>(0);  // shared: the lookup thread may outlive a failed test
  const BlockingResolve counting_hang = [started, inner = dns.Function()](const std::string& host) {
    ++*started;
    return inner(host);
  };
  for (int i = 0; i < 3 * kMaxLookupsInFlight; ++i) {
    ASSERT_FALSE(ResolveWithDeadline("rabbitmq", 5ms, counting_hang).ok());
  }
  EXPECT_EQ(started->load(), 1);
  EXPECT_EQ(LookupsInFlight(), 1);
  // The database's name still resolves while the broker's hangs.
  const ResolveResult db = ResolveWithDeadline("postgres", 5s, [](const std::string&) {
    return ResolveResult{{"10.89.0.5"}, {}};
  });
  ASSERT_TRUE(db.ok()) << db.error;
  EXPECT_EQ(db.addresses, std::vector<std::string>{"10.89.0.5"});
  // A caller still waiting when the shared lookup answers gets its answer.
  std::thread release([&] {
    std::this_thread::sleep_for(50ms);
    dns.Release();
  });
  const ResolveResult late = ResolveWithDeadline("rabbitmq", 5s, counting_hang);
  release.join();
  ASSERT_TRUE(late.ok()) << late.error;
  EXPECT_EQ(late.addresses, std::vector<std::string>{"10.0.0.9"});
  EXPECT_EQ(started->load(), 1);
  WaitUntilNoLookupsInFlight();
}

TEST(ResolveWithDeadline, NamesInFlightAreBounded) {
  HangingResolver dns;
  for (int i = 0; i < kMaxLookupsInFlight; ++i) {
    ASSERT_FALSE(ResolveWithDeadline("host-" + std::to_string(i), 1ms, dns.Function()).ok());
  }
  ASSERT_EQ(LookupsInFlight(), kMaxLookupsInFlight);
  // One more name fails at once, without a thread of its own.
  const auto start = Clock::now();
  const ResolveResult r = ResolveWithDeadline("one-more", 5s, dns.Function());
  EXPECT_LT(Clock::now() - start, 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("other names are still being looked up"), std::string::npos) << r.error;
  dns.Release();
  WaitUntilNoLookupsInFlight();
  // Room again once they finished.
  EXPECT_TRUE(ResolveWithDeadline("one-more", 5s, [](const std::string&) {
                return ResolveResult{{"10.0.0.1"}, {}};
              }).ok());
  WaitUntilNoLookupsInFlight();
}

// The real resolver, through the deadline (a machine whose DNS does not answer must not hold
// this test either): localhost comes from /etc/hosts; ".invalid" never resolves (RFC 6761).
TEST(SystemResolve, ResolvesLocalhostAndRejectsAnInvalidName) {
  const ResolveResult local = ResolveWithDeadline("localhost", 5s);
  ASSERT_TRUE(local.ok()) << local.error;
  ASSERT_FALSE(local.addresses.empty());
  for (const auto& a : local.addresses) EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
  const ResolveResult bad = ResolveWithDeadline("paynotify-test.invalid", 5s);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.addresses.empty());
  WaitUntilNoLookupsInFlight();
}

}  // namespace
}  // namespace paynotify::runtime

// ResolveWithDeadline: a DNS that does not answer must not hold the caller past its timeout.
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

void WaitUntilNoAbandonedLookups() {
  const auto deadline = Clock::now() + 5s;
  while (AbandonedLookups() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(AbandonedLookups(), 0);
}

TEST(ResolveWithDeadline, NumericAddressesAreReturnedWithoutALookup) {
  std::atomic<int> calls{0};
  const BlockingResolve counting = [&](const std::string&) {
    ++calls;
    return ResolveResult{{}, "must not be called"};
  };
  for (const std::string host : {"127.0.0.1", "10.89.0.4", "::1", "fe80::1"}) {
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

TEST(ResolveWithDeadline, AResolverThatThrowsIsAnError) {
  const BlockingResolve throwing = [](const std::string&) -> ResolveResult {
    throw std::runtime_error("boom");
  };
  const ResolveResult r = ResolveWithDeadline("h", 5s, throwing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, "resolving 'h': boom");
}

TEST(ResolveWithDeadline, AHangingLookupIsAbandonedAtTheTimeout) {
  HangingResolver dns;
  const auto start = Clock::now();
  const ResolveResult r = ResolveWithDeadline("rabbitmq", 200ms, dns.Function());
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error, "resolving 'rabbitmq' took longer than 200ms (DNS not answering?)");
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(AbandonedLookups(), 1);
  // The lookup finishing later is dropped, and its thread goes away.
  dns.Release();
  WaitUntilNoAbandonedLookups();
}

TEST(ResolveWithDeadline, AbandonedLookupsAreBounded) {
  HangingResolver dns;
  for (int i = 0; i < kMaxAbandonedLookups; ++i) {
    ASSERT_FALSE(ResolveWithDeadline("rabbitmq", 20ms, dns.Function()).ok());
  }
  ASSERT_EQ(AbandonedLookups(), kMaxAbandonedLookups);
  // One more fails at once, without a thread of its own.
  const auto start = Clock::now();
  const ResolveResult r = ResolveWithDeadline("rabbitmq", 5s, dns.Function());
  EXPECT_LT(Clock::now() - start, 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("earlier lookups are still unanswered"), std::string::npos) << r.error;
  dns.Release();
  WaitUntilNoAbandonedLookups();
  // Room again once they finished.
  EXPECT_TRUE(ResolveWithDeadline("rabbitmq", 5s, [](const std::string&) {
                return ResolveResult{{"10.0.0.1"}, {}};
              }).ok());
}

TEST(SystemResolve, ResolvesLocalhostAndRejectsAnInvalidName) {
  const ResolveResult local = SystemResolve("localhost");
  ASSERT_TRUE(local.ok()) << local.error;
  ASSERT_FALSE(local.addresses.empty());
  for (const auto& a : local.addresses) EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
  // ".invalid" is reserved (RFC 6761): never resolves.
  const ResolveResult bad = SystemResolve("paynotify-test.invalid");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.addresses.empty());
}

}  // namespace
}  // namespace paynotify::runtime

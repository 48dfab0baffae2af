// QueueBrowser against the real broker: a walk that keeps everything leaves the queue as it
// was (same messages, same order); settles remove exactly the settled ones; later arrivals are
// not walked and stay behind; a lost connection and the deadline end a walk without losing
// anything that was not settled; a second walk (or any other consumer) is refused while one
// runs; large bodies shrink the prefetch window and are still walked in order.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/queue_browser.hpp"
#include "common/amqp/topology.hpp"
#include "tests/integration/amqp/amqp_test_support.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::amqp {
namespace {

using namespace std::chrono_literals;
using paynotify::testing::WaitFor;
using testing::Cleanup;
using testing::TestSettings;

std::vector<std::string> Ids(const std::string& prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(prefix + "-" + std::to_string(i));
  return ids;
}

void Publish(const std::string& queue, const std::vector<std::string>& ids) {
  ConfirmPublisher publisher(TestSettings("browser-test-publisher"));
  std::vector<OutgoingMessage> messages;
  for (const auto& id : ids) {
    OutgoingMessage m;
    m.routing_key = queue;
    m.message_id = id;
    m.body = "body of " + id;
    m.headers = {{"x-test", id}};
    messages.push_back(m);
  }
  const auto outcomes = publisher.PublishBatch(messages, 10s);
  for (const auto outcome : outcomes) ASSERT_EQ(outcome, PublishOutcome::kConfirmed);
}

// Every message id in the queue, in order, read destructively (ack) at the end of a test.
std::vector<std::string> Drain(const std::string& queue) {
  std::vector<std::string> ids;
  Consumer consumer(TestSettings("browser-test-drain"), queue, 100);
  while (auto delivery = consumer.Next(300ms)) {
    ids.push_back(delivery->message_id.value_or("?"));
    consumer.Ack(delivery->delivery_tag);
  }
  consumer.Close();
  return ids;
}

// The ids a keep-everything walk sees, in order.
std::vector<std::string> Listed(const std::string& queue, WalkResult* out = nullptr) {
  std::vector<std::string> ids;
  QueueBrowser browser(TestSettings("browser-test-list"), queue);
  const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t position) {
    EXPECT_EQ(position, ids.size());
    ids.push_back(d.message_id.value_or("?"));
    return Verdict::kKeep;
  });
  if (out != nullptr) *out = result;
  return ids;
}

class QueueBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = Connection::Open(TestSettings("browser-test-admin"));
    queue_ = cleanup_.Queue("browse");
    DeclareQueue(*admin_, QueueSpec{.name = queue_});
  }
  Cleanup cleanup_;
  std::unique_ptr<Connection> admin_;
  std::string queue_;
};

TEST_F(QueueBrowserTest, EmptyQueueIsWalkedAtOnce) {
  WalkResult result;
  EXPECT_TRUE(Listed(queue_, &result).empty());
  EXPECT_EQ(result.end, WalkEnd::kAllSeen);
  EXPECT_EQ(result.expected, 0u);
  EXPECT_EQ(result.visited, 0u);
}

TEST_F(QueueBrowserTest, MissingQueueIsAClearError) {
  QueueBrowser browser(TestSettings("browser-test-missing"), queue_ + ".nope");
  try {
    browser.Walk([](const Delivery&, uint64_t) { return Verdict::kKeep; });
    FAIL() << "no exception";
  } catch (const QueueNotFound& error) {
    EXPECT_EQ(error.code, 404);
    EXPECT_EQ(error.queue, queue_ + ".nope");
    EXPECT_NE(std::string(error.what()).find("does not exist"), std::string::npos) << error.what();
  }
  EXPECT_THROW(browser.Count(), QueueNotFound);
}

TEST_F(QueueBrowserTest, KeepingEverythingLeavesTheQueueAsItWas) {
  const auto ids = Ids("keep", 50);
  Publish(queue_, ids);
  WalkResult result;
  EXPECT_EQ(Listed(queue_, &result), ids);
  EXPECT_EQ(result.end, WalkEnd::kAllSeen);
  EXPECT_EQ(result.expected, 50u);
  EXPECT_EQ(result.visited, 50u);
  EXPECT_EQ(result.settled, 0u);
  ASSERT_TRUE(WaitFor([&] { return MessageCount(*admin_, queue_) == 50; }, 5s));
  // Walked again (now every message is a redelivery): still the same, in the same order.
  EXPECT_EQ(Listed(queue_), ids);
  EXPECT_EQ(Listed(queue_), ids);
  EXPECT_EQ(Drain(queue_), ids);
}

TEST_F(QueueBrowserTest, SettlingRemovesExactlyTheSettledAndKeepsTheOrderOfTheRest) {
  const auto ids = Ids("settle", 30);
  Publish(queue_, ids);
  std::vector<std::string> expected;
  QueueBrowser browser(TestSettings("browser-test-settle"), queue_);
  const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t position) {
    if (position % 3 == 1) return Verdict::kSettle;
    expected.push_back(*d.message_id);
    return Verdict::kKeep;
  });
  EXPECT_EQ(result.end, WalkEnd::kAllSeen);
  EXPECT_EQ(result.settled, 10u);
  EXPECT_TRUE(result.settles_confirmed);
  EXPECT_EQ(expected.size(), 20u);
  EXPECT_EQ(Listed(queue_), expected);
  EXPECT_EQ(Drain(queue_), expected);
}

TEST_F(QueueBrowserTest, MessagesPublishedDuringTheWalkAreNotWalkedAndStayBehind) {
  const auto ids = Ids("before", 10);
  const auto later = Ids("later", 5);
  Publish(queue_, ids);
  std::vector<std::string> seen;
  QueueBrowser browser(TestSettings("browser-test-later"), queue_);
  const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t position) {
    if (position == 2) Publish(queue_, later);  // confirmed, so queued before the walk goes on
    seen.push_back(*d.message_id);
    return position == 4 ? Verdict::kSettle : Verdict::kKeep;
  });
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(result.visited, 10u);
  std::vector<std::string> expected = ids;
  expected.erase(expected.begin() + 4);
  expected.insert(expected.end(), later.begin(), later.end());
  EXPECT_EQ(Listed(queue_), expected);
  EXPECT_EQ(Drain(queue_), expected);
}

TEST_F(QueueBrowserTest, FindByMessageIdStopsAtTheMatchAndSettlesNothing) {
  const auto ids = Ids("find", 20);
  Publish(queue_, ids);
  const auto found = FindByMessageId(TestSettings("browser-test-find"), queue_, "find-7");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->position, 7u);
  EXPECT_EQ(found->delivery.body, "body of find-7");
  EXPECT_EQ(found->body_size, found->delivery.body.size());
  EXPECT_FALSE(found->body_truncated);
  EXPECT_EQ(std::get<std::string>(found->delivery.headers.at("x-test")), "find-7");

  const auto cut = FindByMessageId(TestSettings("browser-test-find"), queue_, "find-19", {}, 4);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->delivery.body, "body");
  EXPECT_TRUE(cut->body_truncated);
  EXPECT_EQ(cut->body_size, std::string("body of find-19").size());

  EXPECT_FALSE(FindByMessageId(TestSettings("browser-test-find"), queue_, "find-20"));
  EXPECT_EQ(Drain(queue_), ids);
}

// The walk consumes exclusively: with another consumer on the queue it does not start (that
// consumer would hold messages the walk could not see), and nothing is lost.
TEST_F(QueueBrowserTest, AnotherConsumerMakesTheWalkRefuseToStart) {
  const auto ids = Ids("race", 20);
  Publish(queue_, ids);
  {
    Consumer other(TestSettings("browser-test-other"), queue_, 1);
    other.Connect();
    ASSERT_TRUE(WaitFor([&] { return ConsumerCount(*admin_, queue_) == 1; }, 5s));
    QueueBrowser browser(TestSettings("browser-test-race"), queue_);
    bool visited = false;
    try {
      browser.Walk([&](const Delivery&, uint64_t) {
        visited = true;
        return Verdict::kKeep;
      });
      FAIL() << "no exception";
    } catch (const QueueInUse& error) {
      EXPECT_EQ(error.queue, queue_);
      EXPECT_TRUE(error.retryable);
      EXPECT_NE(std::string(error.what()).find("another client is consuming queue"), std::string::npos)
          << error.what();
    }
    EXPECT_FALSE(visited);
    other.Close();
  }
  EXPECT_EQ(Drain(queue_), ids);
}

// Two walks at once: while the first holds what it has visited (unacked), a second would see
// none of it and report the queue empty. It is refused instead, and the first is unharmed.
TEST_F(QueueBrowserTest, ASecondWalkWhileOneRunsIsRefusedAndTheFirstCompletes) {
  const auto ids = Ids("twice", 30);
  Publish(queue_, ids);
  std::promise<void> holding;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::vector<std::string> first_seen;
  WalkResult first_result;
  std::thread first([&] {
    QueueBrowser browser(TestSettings("browser-test-first"), queue_, BrowseOptions{.timeout = 60s});
    first_result = browser.Walk([&](const Delivery& d, uint64_t position) {
      first_seen.push_back(*d.message_id);
      if (position == 10) {
        holding.set_value();
        released.wait();  // the second walk runs now, with 11 messages unacked on our channel
      }
      return Verdict::kKeep;
    });
  });
  ASSERT_EQ(holding.get_future().wait_for(20s), std::future_status::ready);

  QueueBrowser second(TestSettings("browser-test-second"), queue_);
  uint64_t second_visited = 0;
  EXPECT_THROW(second.Walk([&](const Delivery&, uint64_t) {
    ++second_visited;
    return Verdict::kKeep;
  }),
               QueueInUse);
  EXPECT_EQ(second_visited, 0u);
  // The trace's look-up is a walk too: an unfinished search is an error, never "absent".
  EXPECT_THROW(FindByMessageId(TestSettings("browser-test-second"), queue_, "twice-29"), QueueInUse);

  release.set_value();
  first.join();
  EXPECT_EQ(first_result.end, WalkEnd::kAllSeen) << ToString(first_result.end) << " " << first_result.error;
  EXPECT_EQ(first_result.visited, 30u);
  EXPECT_EQ(first_seen, ids);
  ASSERT_TRUE(WaitFor([&] { return MessageCount(*admin_, queue_) == 30; }, 5s));
  // Once the first walk ended, the next one starts and sees everything.
  EXPECT_EQ(Listed(queue_), ids);
  EXPECT_EQ(Drain(queue_), ids);
}

TEST_F(QueueBrowserTest, ALostConnectionKeepsEverythingThatWasNotSettled) {
  const auto ids = Ids("lost", 10);
  Publish(queue_, ids);
  BrokerSettings settings = TestSettings("browser-test-lost");
  std::vector<std::string> kept;
  QueueBrowser browser(settings, queue_);
  const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t position) {
    if (position == 5) {
      const std::string pid = testing::FindConnectionPid(settings.connection_name);
      EXPECT_FALSE(pid.empty());
      EXPECT_EQ(paynotify::testing::Infra("rabbitmqctl close_connection '" + pid + "' test"), 0);
      return Verdict::kSettle;  // its ack cannot reach the broker any more
    }
    if (position == 1) return Verdict::kSettle;
    kept.push_back(*d.message_id);
    return Verdict::kKeep;
  });
  // Deliveries already buffered may still be visited after the close (then the walk ends
  // all-seen); either way the broker never answered our channel.close, so the settles are
  // reported in doubt.
  EXPECT_TRUE(result.end == WalkEnd::kFailed || result.end == WalkEnd::kAllSeen) << ToString(result.end);
  EXPECT_FALSE(result.settles_confirmed);
  EXPECT_FALSE(result.error.empty());
  // Everything but the settled "lost-1" (its ack went out before the close) is still there,
  // in order; "lost-5" may or may not be (its ack raced the close).
  ASSERT_TRUE(WaitFor([&] { return MessageCount(*admin_, queue_) >= 8; }, 10s));
  auto remaining = Drain(queue_);
  std::vector<std::string> expected = ids;
  expected.erase(expected.begin() + 1);
  if (remaining.size() == expected.size() - 1) expected.erase(expected.begin() + 4);
  EXPECT_EQ(remaining, expected);
}

TEST_F(QueueBrowserTest, TheDeadlineEndsASlowWalkAndKeepsEverything) {
  const auto ids = Ids("slow", 20);
  Publish(queue_, ids);
  QueueBrowser browser(TestSettings("browser-test-slow"), queue_, BrowseOptions{.timeout = 300ms});
  const auto started = std::chrono::steady_clock::now();
  const WalkResult result = browser.Walk([&](const Delivery&, uint64_t) {
    std::this_thread::sleep_for(50ms);  // a slow visitor stands in for a slow broker
    return Verdict::kKeep;
  });
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(result.end, WalkEnd::kTimedOut);
  EXPECT_LT(result.visited, 20u);
  EXPECT_EQ(Listed(queue_), ids);
  EXPECT_EQ(Drain(queue_), ids);
}

TEST_F(QueueBrowserTest, ASlowVisitorIsNotTakenForADrainedQueue) {
  const auto ids = Ids("patient", 10);
  Publish(queue_, ids);
  std::vector<std::string> seen;
  QueueBrowser browser(TestSettings("browser-test-patient"), queue_, BrowseOptions{.timeout = 20s, .quiet = 50ms});
  const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t) {
    std::this_thread::sleep_for(120ms);  // longer than the quiet period, every time
    seen.push_back(*d.message_id);
    return Verdict::kKeep;
  });
  EXPECT_EQ(result.end, WalkEnd::kAllSeen) << ToString(result.end);
  EXPECT_EQ(seen, ids);
}

TEST_F(QueueBrowserTest, AVisitorExceptionEndsTheWalkAndKeepsTheRest) {
  const auto ids = Ids("throw", 5);
  Publish(queue_, ids);
  QueueBrowser browser(TestSettings("browser-test-throw"), queue_);
  EXPECT_THROW(browser.Walk([&](const Delivery&, uint64_t position) {
    if (position == 2) throw std::runtime_error("visitor failed");
    return position == 0 ? Verdict::kSettle : Verdict::kKeep;
  }),
               std::runtime_error);
  EXPECT_EQ(Drain(queue_), std::vector<std::string>(ids.begin() + 1, ids.end()));
}

// Quorum queues (consumer.queue-type: quorum): RabbitMQ 3.10's client holds acks back in a
// burst and drops them at channel close (without the grace, 65 of 100 settled messages came
// back here). With quorum_queue the walk lingers before closing: kept messages all return,
// the settled ones stay gone, and the settles are reported unconfirmed (timing, not proof).
TEST_F(QueueBrowserTest, QuorumQueueKeepsEveryMessageAndLosesNone) {
  const std::string quorum = cleanup_.Queue("quorum");
  DeclareQueue(*admin_, QueueSpec{.name = quorum, .queue_type = "quorum"});
  const auto ids = Ids("quorum", 400);
  Publish(quorum, ids);
  std::vector<std::string> kept;
  QueueBrowser browser(TestSettings("browser-test-quorum"), quorum, BrowseOptions{.quorum_queue = true});
  const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t position) {
    if (position % 4 == 0) return Verdict::kSettle;
    kept.push_back(*d.message_id);
    return Verdict::kKeep;
  });
  EXPECT_EQ(result.visited, 400u);
  EXPECT_EQ(result.settled, 100u);
  EXPECT_FALSE(result.settles_confirmed);
  // A quorum queue returns the kept messages and drops our consumer asynchronously after the
  // channel closed: wait for both, or the next walk finds them still out (or is refused).
  ASSERT_TRUE(WaitFor([&] { return MessageCount(*admin_, quorum) == 300 && ConsumerCount(*admin_, quorum) == 0; }, 15s))
      << "ready " << MessageCount(*admin_, quorum) << ", consumers " << ConsumerCount(*admin_, quorum);
  const auto listed = Listed(quorum);
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), std::set<std::string>(kept.begin(), kept.end()));
  EXPECT_EQ(listed.size(), 300u);
  const auto drained = Drain(quorum);
  EXPECT_EQ(std::set<std::string>(drained.begin(), drained.end()), std::set<std::string>(kept.begin(), kept.end()));
  EXPECT_EQ(drained.size(), 300u);
}

// Large bodies (the broker here allows 4 MiB): the prefetch step is budget / largest body seen,
// so small messages first (step 256), then 2 MiB ones shrink it (32 by default; 1 with a 1 MiB
// budget). Either way every message is walked once, in order, whole, and stays in the queue.
TEST_F(QueueBrowserTest, LargeBodiesShrinkTheWindowAndAreStillWalkedInOrder) {
  const size_t kLarge = size_t{2} * 1024 * 1024;
  std::vector<OutgoingMessage> messages;
  std::vector<std::string> ids;
  std::vector<size_t> sizes;
  for (int i = 0; i < 24; ++i) {
    const bool large = i >= 10 && i < 14;  // 10 small, 4 x 2 MiB, 10 small
    OutgoingMessage m;
    m.routing_key = queue_;
    m.message_id = "big-" + std::to_string(i);
    m.body = large ? std::string(kLarge, static_cast<char>('a' + i)) : "small " + std::to_string(i);
    ids.push_back(m.message_id);
    sizes.push_back(m.body.size());
    messages.push_back(std::move(m));
  }
  {
    ConfirmPublisher publisher(TestSettings("browser-test-publisher"));
    for (const auto outcome : publisher.PublishBatch(messages, 30s)) ASSERT_EQ(outcome, PublishOutcome::kConfirmed);
  }
  for (const size_t budget : {kDefaultWindowBudgetBytes, size_t{1024 * 1024}}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    std::vector<std::string> seen;
    QueueBrowser browser(TestSettings("browser-test-large"), queue_,
                         BrowseOptions{.timeout = 60s, .window_budget_bytes = budget});
    const WalkResult result = browser.Walk([&](const Delivery& d, uint64_t position) {
      EXPECT_EQ(d.body.size(), sizes.at(position));
      EXPECT_EQ(d.body, messages.at(position).body);
      seen.push_back(d.message_id.value_or("?"));
      return Verdict::kKeep;
    });
    EXPECT_EQ(result.end, WalkEnd::kAllSeen) << ToString(result.end) << " " << result.error;
    EXPECT_EQ(result.visited, 24u);
    EXPECT_EQ(seen, ids);
    ASSERT_TRUE(WaitFor([&] { return MessageCount(*admin_, queue_) == 24; }, 5s));
  }
  EXPECT_EQ(Listed(queue_), ids);
  EXPECT_EQ(Drain(queue_), ids);
}

}  // namespace
}  // namespace paynotify::amqp

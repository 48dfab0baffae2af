// The dlq operations against the real broker: listing is non-destructive (same messages, same
// order), replay and discard touch exactly the messages selected, a replay that cannot be
// confirmed leaves the parked copy, and a consumer on the main queue may run meanwhile.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "common/amqp/errors.hpp"
#include "common/consumer/headers.hpp"
#include "tests/integration/amqp/amqp_test_support.hpp"
#include "tests/integration/dlq/dlq_support.hpp"

namespace paynotify::ctl::dlq::testing {
namespace {

using paynotify::testing::WaitFor;

class DlqOperationsTest : public ::testing::Test {
 protected:
  // Five parked messages: three "selection-missing", one "malformed-json", one "too-large".
  void ParkFive() {
    ids_.push_back(q_.Park(PaymentBody(101), "selection-missing"));
    ids_.push_back(q_.Park("{not json\x01", "malformed-json"));
    ids_.push_back(q_.Park(PaymentBody(102), "selection-missing"));
    ids_.push_back(q_.Park(std::string(300, 'x'), "too-large"));
    ids_.push_back(q_.Park(PaymentBody(103), "selection-missing"));
  }
  DlqQueues q_;
  std::vector<std::string> ids_;
};

TEST_F(DlqOperationsTest, ListingIsNonDestructive) {
  ParkFive();
  const ListReport report = List(q_.target, std::nullopt, 50);
  ASSERT_EQ(report.messages.size(), 5u);
  EXPECT_FALSE(report.more);
  EXPECT_EQ(report.walk.expected, 5u);
  EXPECT_EQ(report.walk.end, amqp::WalkEnd::kAllSeen);
  EXPECT_EQ(report.messages[0].message_id, ids_[0]);
  EXPECT_EQ(report.messages[0].reason, "selection-missing");
  EXPECT_EQ(report.messages[0].attempts, 3);
  EXPECT_EQ(report.messages[0].business_key1, "101");
  EXPECT_EQ(report.messages[0].business_key2, "60201");
  EXPECT_TRUE(report.messages[0].failed_at);
  EXPECT_EQ(report.messages[1].reason, "malformed-json");
  EXPECT_FALSE(report.messages[1].business_key1);
  EXPECT_TRUE(report.messages[1].body_problem);
  // Listed again and again: the same, in the same order; and nothing was taken.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q_.ListedIds(), ids_);
  EXPECT_EQ(q_.Ready(q_.target.dead_letter_queue), 5u);
  EXPECT_EQ(DlqQueues::IdsOf(q_.Drain(q_.target.dead_letter_queue)), ids_);
}

TEST_F(DlqOperationsTest, ListFiltersByReasonAndStopsAtTheLimit) {
  ParkFive();
  const ListReport missing = List(q_.target, std::string("selection-missing"), 2);
  ASSERT_EQ(missing.messages.size(), 2u);
  EXPECT_TRUE(missing.more);
  EXPECT_EQ(missing.messages[0].message_id, ids_[0]);
  EXPECT_EQ(missing.messages[1].message_id, ids_[2]);
  EXPECT_EQ(missing.messages[1].position, 2u);
  const ListReport none = List(q_.target, std::string("nope"), 10);
  EXPECT_TRUE(none.messages.empty());
  EXPECT_EQ(q_.ListedIds(), ids_);
}

TEST_F(DlqOperationsTest, StatsCountsPerReason) {
  ParkFive();
  const StatsReport stats = Stats(q_.target);
  EXPECT_EQ(stats.reasons.Total(), 5u);
  EXPECT_EQ(stats.reasons.Counts().at("selection-missing"), 3u);
  EXPECT_EQ(stats.reasons.Counts().at("malformed-json"), 1u);
  EXPECT_EQ(stats.reasons.Counts().at("too-large"), 1u);
  EXPECT_EQ(q_.ListedIds(), ids_);
}

TEST_F(DlqOperationsTest, ShowFindsTheWholeMessageOrNothing) {
  ParkFive();
  const auto shown = Show(q_.target, ids_[3]);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->found.delivery.body, std::string(300, 'x'));
  EXPECT_EQ(shown->found.position, 3u);
  EXPECT_EQ(shown->summary.reason, "too-large");
  EXPECT_EQ(shown->found.delivery.content_type, "application/json");
  EXPECT_FALSE(Show(q_.target, "no-such-id"));
  EXPECT_EQ(q_.ListedIds(), ids_);
}

TEST_F(DlqOperationsTest, MissingParkingQueueIsAClearError) {
  DlqTarget wrong = q_.target;
  wrong.dead_letter_queue += ".missing";
  EXPECT_THROW(List(wrong, std::nullopt, 10), amqp::QueueNotFound);
  EXPECT_THROW(Replay(wrong, Selection{.all = true}, false), amqp::QueueNotFound);
}

TEST_F(DlqOperationsTest, ReplayTouchesExactlyTheNamedMessages) {
  ParkFive();
  const ActionReport report = Replay(q_.target, Selection{.message_ids = {ids_[1], ids_[4], "not-there"}}, false);
  EXPECT_EQ(report.selected, 2u);
  EXPECT_EQ(report.done, 2u);
  EXPECT_EQ(report.failed, 0u);
  EXPECT_EQ(report.not_found, std::vector<std::string>{"not-there"});
  EXPECT_TRUE(report.walk.settles_confirmed);
  ASSERT_EQ(report.items.size(), 2u);
  EXPECT_EQ(report.items[0].outcome, "replayed");
  EXPECT_EQ(report.items[0].replayed, 1);
  // The rest stays parked in order; the main queue got exactly the two, in order.
  EXPECT_EQ(q_.ListedIds(), (std::vector<std::string>{ids_[0], ids_[2], ids_[3]}));
  const auto main = q_.Drain(q_.target.queue);
  ASSERT_EQ(DlqQueues::IdsOf(main), (std::vector<std::string>{ids_[1], ids_[4]}));
  const amqp::Delivery& replayed = main[1];
  EXPECT_EQ(replayed.body, PaymentBody(103));
  EXPECT_EQ(replayed.exchange, "");  // default exchange: no other subscriber got a copy
  EXPECT_EQ(replayed.delivery_mode, 2);
  EXPECT_EQ(replayed.type, "payresult_notify");
  EXPECT_EQ(std::get<int64_t>(replayed.headers.at(consumer::kReplayedHeader)), 1);
  EXPECT_FALSE(replayed.headers.contains(consumer::kReasonHeader));
  EXPECT_FALSE(replayed.headers.contains(consumer::kAttemptHeader));
}

TEST_F(DlqOperationsTest, ReplayByReasonAndDryRun) {
  ParkFive();
  const ActionReport dry = Replay(q_.target, Selection{.reason = "selection-missing"}, true);
  EXPECT_EQ(dry.selected, 3u);
  EXPECT_EQ(dry.done, 0u);
  ASSERT_EQ(dry.items.size(), 3u);
  EXPECT_EQ(dry.items[0].outcome, "would-replay");
  EXPECT_EQ(q_.ListedIds(), ids_);
  EXPECT_EQ(q_.Ready(q_.target.queue), 0u);

  const ActionReport real = Replay(q_.target, Selection{.reason = "selection-missing"}, false);
  EXPECT_EQ(real.done, 3u);
  EXPECT_EQ(q_.ListedIds(), (std::vector<std::string>{ids_[1], ids_[3]}));
  EXPECT_EQ(DlqQueues::IdsOf(q_.Drain(q_.target.queue)), (std::vector<std::string>{ids_[0], ids_[2], ids_[4]}));
}

TEST_F(DlqOperationsTest, AReplayThatIsNotConfirmedKeepsTheParkedCopy) {
  ParkFive();
  DlqTarget no_main = q_.target;
  no_main.queue += ".missing";  // the copy is returned (mandatory): never confirmed into a queue
  const ActionReport report = Replay(no_main, Selection{.message_ids = {ids_[2]}}, false);
  EXPECT_EQ(report.selected, 1u);
  EXPECT_EQ(report.done, 0u);
  EXPECT_EQ(report.failed, 1u);
  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(report.items[0].outcome, "failed");
  EXPECT_NE(report.items[0].error.find("returned"), std::string::npos) << report.items[0].error;
  EXPECT_EQ(q_.ListedIds(), ids_);
}

TEST_F(DlqOperationsTest, ReplayedMessageParkedAgainCountsItsReplays) {
  const std::string id = q_.Park(PaymentBody(7), "selection-missing");
  ASSERT_EQ(Replay(q_.target, Selection{.all = true}, false).done, 1u);
  // The consumer fails it again and parks it (its copy keeps the count).
  auto back = q_.Drain(q_.target.queue);
  ASSERT_EQ(back.size(), 1u);
  q_.PublishConfirmed(consumer::MakeDeadLetterCopy(back[0], q_.Topology(),
                                                   consumer::Disposition::DeadLetter("selection-missing", "again", 3),
                                                   std::chrono::system_clock::now()));
  const ListReport listed = List(q_.target, std::nullopt, 10);
  ASSERT_EQ(listed.messages.size(), 1u);
  EXPECT_EQ(listed.messages[0].replayed, 1);
  const ActionReport second = Replay(q_.target, Selection{.all = true}, false);
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].replayed, 2);
  EXPECT_EQ(std::get<int64_t>(q_.Drain(q_.target.queue).at(0).headers.at(consumer::kReplayedHeader)), 2);
}

TEST_F(DlqOperationsTest, DiscardLogsFirstAndRemovesExactlyTheSelected) {
  ParkFive();
  std::ostringstream log;
  const ActionReport report = Discard(q_.target, Selection{.reason = "malformed-json"}, log);
  EXPECT_EQ(report.selected, 1u);
  EXPECT_EQ(report.done, 1u);
  EXPECT_NE(log.str().find("message_id=" + ids_[1]), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("body={not json\\x01"), std::string::npos) << log.str();  // escaped
  std::vector<std::string> rest = ids_;
  rest.erase(rest.begin() + 1);
  EXPECT_EQ(q_.ListedIds(), rest);

  std::ostringstream log2;
  const ActionReport by_id = Discard(q_.target, Selection{.message_ids = {ids_[3], "gone"}}, log2);
  EXPECT_EQ(by_id.done, 1u);
  EXPECT_EQ(by_id.not_found, std::vector<std::string>{"gone"});
  rest.erase(rest.begin() + 2);
  EXPECT_EQ(q_.ListedIds(), rest);
  EXPECT_EQ(q_.Ready(q_.target.queue), 0u);  // discard never publishes
}

// The walk's connection is closed by the broker in the middle of a replay. Nothing is lost:
// every message is afterwards in the parking queue or in the main queue, each queue holds it
// at most once, and the main queue holds exactly the replays that were confirmed. Deliveries
// the broker had already sent before it closed the connection are still read and replayed,
// but their acks arrive too late: those messages are in both queues (the inbox absorbs the
// duplicates) and the report says its acks are unconfirmed (the command exits 1 asking for a
// second run). Measured here: 1,400-2,500 of 8,000 in both; see QueueBrowser's limits.
TEST_F(DlqOperationsTest, AReplayWhoseConnectionIsLostLosesNothingAndAcksOnlyWhatItReplayed) {
  constexpr int kMessages = 8000;
  std::vector<amqp::OutgoingMessage> batch;
  for (int i = 0; i < kMessages; ++i) {
    ids_.push_back(paynotify::testing::UniqueName("lost"));
    amqp::Delivery original;
    original.body = PaymentBody(10000 + i);
    original.message_id = ids_.back();
    batch.push_back(consumer::MakeDeadLetterCopy(original, q_.Topology(),
                                                 consumer::Disposition::DeadLetter("selection-missing", "x", 3),
                                                 std::chrono::system_clock::now()));
  }
  {
    amqp::ConfirmPublisher publisher(q_.target.broker);
    for (const auto outcome : publisher.PublishBatch(batch, 30s)) ASSERT_EQ(outcome, amqp::PublishOutcome::kConfirmed);
  }
  // rabbitmqctl takes a second or two per call: the killer looks for the walk's connection
  // from the start, and the batch is large enough that the replay is still going by then.
  std::thread killer([&] {
    std::string pid;
    ASSERT_TRUE(WaitFor(
        [&] { return !(pid = amqp::testing::FindConnectionPid(q_.target.broker.connection_name + "-dlq-walk")).empty(); },
        20s, 10ms));
    EXPECT_EQ(paynotify::testing::Infra("rabbitmqctl close_connection '" + pid + "' dlq-test"), 0);
  });
  const ActionReport report = Replay(q_.target, Selection{.all = true}, false);
  killer.join();
  ASSERT_EQ(report.walk.end, amqp::WalkEnd::kFailed) << "the replay finished before the connection was closed";
  EXPECT_LT(report.done, static_cast<uint64_t>(kMessages));
  const std::vector<std::string> parked = DlqQueues::IdsOf(q_.Drain(q_.target.dead_letter_queue));
  const std::vector<std::string> main = DlqQueues::IdsOf(q_.Drain(q_.target.queue));
  const std::set<std::string> in_parked(parked.begin(), parked.end());
  const std::set<std::string> in_main(main.begin(), main.end());
  EXPECT_EQ(in_parked.size(), parked.size()) << "a parked message twice";
  EXPECT_EQ(in_main.size(), main.size()) << "a message replayed twice";
  EXPECT_EQ(main.size(), report.done) << "the main queue holds exactly the confirmed replays";
  EXPECT_EQ(report.failed, 0u);
  int in_both = 0;
  for (const auto& id : ids_) {
    const bool p = in_parked.contains(id), m = in_main.contains(id);
    EXPECT_TRUE(p || m) << id << " lost";
    in_both += p && m ? 1 : 0;
  }
  EXPECT_FALSE(report.walk.settles_confirmed);  // acks were sent; the channel.close was never answered
  EXPECT_EQ(parked.size() + main.size() - in_both, ids_.size());
  // The browser's window (256 deliveries ahead, acks proven every 256 settles) bounds how
  // many were replayed after the broker had stopped listening.
  EXPECT_LE(in_both, 512) << "in both queues: " << in_both;
  std::cout << "replayed " << report.done << " of " << kMessages << " before the walk failed; in both queues: "
            << in_both << "\n";
  // Order of what stayed parked: the queue's own, minus the replayed ones.
  std::vector<std::string> expected_parked;
  for (const auto& id : ids_) {
    if (in_parked.contains(id)) expected_parked.push_back(id);
  }
  EXPECT_EQ(parked, expected_parked);
}

TEST_F(DlqOperationsTest, ListingAndReplayWhileTheConsumerParksMoreAndAnotherConsumesTheMainQueue) {
  ParkFive();
  // A consumer on the main queue takes (and acks) replayed messages as they come; a "consumer"
  // parks new messages meanwhile. Neither may lose or duplicate anything.
  std::atomic<bool> stop{false};
  std::vector<std::string> consumed;
  std::thread main_consumer([&] {
    amqp::Consumer c(q_.target.broker, q_.target.queue, 10);
    while (!stop) {
      if (auto d = c.Next(50ms)) {
        consumed.push_back(d->message_id.value_or("?"));
        c.Ack(d->delivery_tag);
      }
    }
  });
  std::vector<std::string> parked_later;
  std::thread parker([&] {
    DlqQueues* q = &q_;
    for (int i = 0; i < 20 && !stop; ++i) {
      parked_later.push_back(q->Park(PaymentBody(900 + i), "malformed-json"));
      std::this_thread::sleep_for(5ms);
    }
  });
  for (int round = 0; round < 5; ++round) {
    const auto listed = q_.ListedIds();
    // Always the five first, in order, then a prefix of what was parked since.
    ASSERT_GE(listed.size(), 5u);
    EXPECT_EQ(std::vector<std::string>(listed.begin(), listed.begin() + 5), ids_);
  }
  const ActionReport replay = Replay(q_.target, Selection{.reason = "selection-missing"}, false);
  EXPECT_EQ(replay.done, 3u);
  parker.join();
  ASSERT_TRUE(WaitFor([&] { return q_.Ready(q_.target.queue) == 0 && consumed.size() >= 3; }, 10s));
  stop = true;
  main_consumer.join();
  EXPECT_EQ(consumed, (std::vector<std::string>{ids_[0], ids_[2], ids_[4]}));
  std::vector<std::string> expected = {ids_[1], ids_[3]};
  expected.insert(expected.end(), parked_later.begin(), parked_later.end());
  EXPECT_EQ(q_.ListedIds(), expected);
}

}  // namespace
}  // namespace paynotify::ctl::dlq::testing

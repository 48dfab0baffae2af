// The relay core against FakePublisher + InMemoryOutboxStore + ManualClock.
#include "order-service/relay/relay.hpp"

#include <atomic>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/messages/mq_message.hpp"

namespace paynotify::order {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using amqp::PublishOutcome;

/// mq_message in memory, per the OutboxStore contract: due times follow the injected clock;
/// a claimed row is invisible to other claims until its batch completes or is dropped (FOR
/// UPDATE SKIP LOCKED); parked rows are never claimed; a row is claimed only when no earlier
/// unparked row of its business_key1 is left (locked or not), and parked rows hold nothing back.
class InMemoryOutboxStore : public OutboxStore {
 public:
  struct Row {
    OutboxRecord record;
    std::chrono::system_clock::time_point next_attempt_at;
    std::optional<std::string> failure;
    bool locked = false;
    std::optional<std::chrono::system_clock::time_point> parked_at;
  };

  explicit InMemoryOutboxStore(const runtime::Clock& clock) : clock_(clock) {}

  /// A due row; business_key1 `key1`, or "cs-<id>" (a key of its own) when not given.
  int64_t Add(std::optional<std::string> key1 = std::nullopt) {
    std::lock_guard lock(mutex_);
    const int64_t id = next_id_++;
    if (!key1) key1 = "cs-" + std::to_string(id);
    rows_[id] = Row{OutboxRecord{id, "00000000-0000-4000-8000-" + std::to_string(100000000000 + id),
                                 "payresult_notify", key1, "60201", std::nullopt, 0},
                    clock_.WallNow(), std::nullopt, false, std::nullopt};
    return id;
  }
  std::optional<Row> Get(int64_t id) {
    std::lock_guard lock(mutex_);
    auto it = rows_.find(id);
    if (it == rows_.end()) return std::nullopt;
    return it->second;
  }
  size_t Size() {
    std::lock_guard lock(mutex_);
    return rows_.size();
  }
  bool fail_complete = false;
  bool fail_claim_more = false;
  int completes = 0;  // Complete() calls that committed
  /// Called at every Claim() with its 1-based number, before claiming; may throw.
  std::function<void(int call)> on_claim;
  std::atomic<int> claims{0};
  int deletes = 0;  // rows removed by Complete

  class Batch : public ClaimedBatch {
   public:
    Batch(InMemoryOutboxStore& store, std::vector<OutboxRecord> records)
        : store_(store), records_(std::move(records)) {}
    ~Batch() override {
      std::lock_guard lock(store_.mutex_);
      for (const auto& r : records_) {
        auto it = store_.rows_.find(r.id);
        if (it != store_.rows_.end()) it->second.locked = false;
      }
    }
    const std::vector<OutboxRecord>& Records() const override { return records_; }
    size_t ClaimMore(size_t limit) override {
      std::lock_guard lock(store_.mutex_);
      if (store_.fail_claim_more) throw OutboxUnavailable("connection to database lost");
      if (records_.empty()) return 0;
      std::vector<OutboxRecord> more = store_.ClaimLocked(limit, records_.back().id);
      records_.insert(records_.end(), more.begin(), more.end());
      return more.size();
    }
    void Complete(const std::vector<int64_t>& confirmed,
                  const std::vector<OutboxRetry>& retries) override {
      std::lock_guard lock(store_.mutex_);
      if (store_.fail_complete) throw OutboxUnavailable("connection to database lost");
      ++store_.completes;
      for (int64_t id : confirmed) store_.deletes += static_cast<int>(store_.rows_.erase(id));
      for (const auto& retry : retries) {
        Row& row = store_.rows_.at(retry.id);
        row.record.execute_num += 1;
        row.failure = retry.reason;
        if (retry.park) {
          row.parked_at = store_.clock_.WallNow();
        } else {
          row.next_attempt_at = store_.clock_.WallNow() + retry.delay;
        }
      }
    }

   private:
    InMemoryOutboxStore& store_;
    std::vector<OutboxRecord> records_;
  };

  std::unique_ptr<ClaimedBatch> Claim(size_t limit) override {
    int number = 0;
    {
      std::lock_guard lock(mutex_);  // relays on several threads claim at once
      number = ++claims;
    }
    if (on_claim) on_claim(number);
    std::lock_guard lock(mutex_);
    return std::make_unique<Batch>(*this, ClaimLocked(limit, 0));
  }
  std::atomic<int> stats_calls{0};  // Stats() calls, by any thread
  OutboxStats Stats() override {
    ++stats_calls;
    std::lock_guard lock(mutex_);
    OutboxStats stats;
    for (const auto& [id, row] : rows_) ++(row.parked_at ? stats.parked : stats.pending);
    return stats;
  }

 private:
  // Claim's rules, for rows with an id above `above` (ClaimMore: the batch's own rows, still
  // in the table, hold back their keys). Caller holds mutex_.
  std::vector<OutboxRecord> ClaimLocked(size_t limit, int64_t above) {
    std::vector<OutboxRecord> records;
    std::set<std::string> keys_seen;  // keys with an earlier unparked row
    for (auto& [id, row] : rows_) {  // std::map: id order
      if (records.size() >= limit) break;
      if (row.parked_at) continue;
      const bool held_back = row.record.business_key1 && !keys_seen.insert(*row.record.business_key1).second;
      if (held_back || row.locked || id <= above || row.next_attempt_at > clock_.WallNow()) continue;
      row.locked = true;
      records.push_back(row.record);
    }
    return records;
  }

  const runtime::Clock& clock_;
  std::mutex mutex_;
  std::map<int64_t, Row> rows_;
  int64_t next_id_ = 1;
};

/// Answers each batch with `behavior` (default: confirm everything) and records what it got.
class FakePublisher : public Publisher {
 public:
  using Behavior = std::function<std::vector<PublishResult>(std::span<const amqp::OutgoingMessage>)>;
  std::vector<amqp::OutgoingMessage> published;
  Behavior behavior;
  bool unavailable = false;
  int connects = 0;
  int connect_attempts = 0;
  std::function<void(int attempt)> on_connect;  // called at every EnsureConnected()
  bool skip_all_sent = false;  // as a batch that ends before its last message is sent
  /// Called while the batch is being sent, before `all_sent` (the relay's publish turn held).
  std::function<void(std::span<const amqp::OutgoingMessage>, const std::function<void()>& all_sent)> on_sending;

  std::vector<PublishResult> PublishBatch(std::span<const amqp::OutgoingMessage> messages, milliseconds,
                                          const std::function<void()>& all_sent) override {
    std::lock_guard lock(mutex_);
    if (unavailable) throw PublisherUnavailable("connection refused");
    published.insert(published.end(), messages.begin(), messages.end());
    if (on_sending) on_sending(messages, all_sent);
    if (all_sent && !skip_all_sent) all_sent();
    if (behavior) return behavior(messages);
    return std::vector<PublishResult>(messages.size(), PublishResult{PublishOutcome::kConfirmed, {}});
  }
  void EnsureConnected() override {
    std::lock_guard lock(mutex_);
    ++connect_attempts;
    if (on_connect) on_connect(connect_attempts);
    if (unavailable) throw PublisherUnavailable("connection refused");
    ++connects;
    connected = true;
  }
  bool Maintain() noexcept override {
    std::lock_guard lock(mutex_);
    return connected;
  }
  bool connected = false;
  void Close() noexcept override {}
  size_t PublishedCount() {
    std::lock_guard lock(mutex_);
    return published.size();
  }

 private:
  std::mutex mutex_;
};

class NeverWakes : public WakeSource {
 public:
  bool Wait(milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, milliseconds(5)));
    return false;
  }
};

PublishResult Outcome(PublishOutcome o, std::string detail = {}) { return PublishResult{o, std::move(detail)}; }

/// Polls `done` every 5 ms for up to 10 s (the relay runs on a thread of its own).
template <class Pred>
bool Eventually(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class RelayTest : public ::testing::Test {
 protected:
  RelayTest() : store_(clock_), relay_(Settings(), store_, publisher_, wake_, clock_, registry_) {}

  static RelaySettings Settings() {
    RelaySettings s;
    s.exchange = "test_exchange";
    s.batch_size = 10;
    s.retry = runtime::BackoffPolicy{1000ms, 2.0, 60000ms};
    return s;
  }
  double Counter(const std::string& name, metrics::Labels labels = {}) {
    return registry_.GetCounter(name, "", std::move(labels)).Value();
  }
  struct Confirmed {
    uint64_t by_lead;
    uint64_t by_helper;
  };
  /// A lead (publishing through publisher_) and a helper (through `helper_publisher`) of
  /// `team` on one store, each on its own thread as OrderService wires them, until the store
  /// is empty. The helper is woken by the lead's first full batch (its own poll interval is
  /// far too long to matter).
  Confirmed DrainAsLeadAndHelper(RelayTeam& team, FakePublisher& helper_publisher) {
    RelaySettings settings = Settings();
    settings.poll_interval = 10s;
    Relay lead(settings, store_, publisher_, wake_, clock_, registry_, RelayRole{&team, false});
    Relay helper(settings, store_, helper_publisher, team, clock_, registry_, RelayRole{&team, true});
    {
      std::jthread lead_thread([&](std::stop_token stop) { lead.Run(stop); });
      std::jthread helper_thread([&](std::stop_token stop) { helper.Run(stop); });
      EXPECT_TRUE(Eventually([&] { return store_.Size() == 0; }));
    }
    return Confirmed{lead.RowsConfirmed(), helper.RowsConfirmed()};
  }

  runtime::ManualClock clock_;
  metrics::Registry registry_;
  InMemoryOutboxStore store_;
  FakePublisher publisher_;
  NeverWakes wake_;
  Relay relay_;
};

TEST_F(RelayTest, ConfirmedRowsAreDeletedAndPublishedPerContract) {
  const int64_t a = store_.Add("cs-1");
  store_.Add("cs-2");
  const BatchResult result = relay_.RunOnce();
  EXPECT_EQ(result.claimed, 2u);
  EXPECT_EQ(result.confirmed, 2u);
  EXPECT_EQ(store_.Size(), 0u);
  ASSERT_EQ(publisher_.published.size(), 2u);
  const amqp::OutgoingMessage& m = publisher_.published[0];
  EXPECT_EQ(m.exchange, "test_exchange");
  EXPECT_EQ(m.routing_key, "");
  EXPECT_EQ(m.message_id, "00000000-0000-4000-8000-" + std::to_string(100000000000 + a));
  EXPECT_EQ(m.type, "payresult_notify");
  EXPECT_EQ(m.app_id, "order-service");
  EXPECT_EQ(m.content_type, "application/json");
  EXPECT_TRUE(m.persistent);
  EXPECT_TRUE(m.mandatory);
  EXPECT_EQ(m.timestamp_s, 1704067200);
  EXPECT_EQ(m.body, messages::EncodeMqMessage({a, "payresult_notify", "cs-1", "60201", std::nullopt}));
  EXPECT_EQ(m.body, R"({"id":1,"messageType":"payresult_notify","businessKey1":"cs-1","businessKey2":"60201","businessKey3":null})");
  EXPECT_EQ(Counter("paynotify_relay_confirmed_total"), 2);
  EXPECT_TRUE(relay_.BrokerUp());
}

TEST_F(RelayTest, NackedRowIsKeptWithBackoff) {
  const int64_t id = store_.Add();
  publisher_.behavior = [](auto msgs) {
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kNacked));
  };
  EXPECT_EQ(relay_.RunOnce().retried, 1u);
  auto row = store_.Get(id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->record.execute_num, 1);
  EXPECT_EQ(row->failure, "nacked");
  EXPECT_EQ(row->next_attempt_at, clock_.WallNow() + 1s);
  EXPECT_EQ(relay_.RunOnce().claimed, 0u);  // not due yet
  clock_.Advance(1s);
  publisher_.behavior = nullptr;
  EXPECT_EQ(relay_.RunOnce().confirmed, 1u);
  EXPECT_FALSE(store_.Get(id));
  EXPECT_EQ(Counter("paynotify_relay_nacked_total"), 1);
}

TEST_F(RelayTest, ReturnThenAckIsKeptAsReturned) {
  const int64_t id = store_.Add();
  publisher_.behavior = [](auto msgs) {
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kReturned));
  };
  relay_.RunOnce();
  auto row = store_.Get(id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->failure, "returned");
  EXPECT_EQ(row->record.execute_num, 1);
  EXPECT_EQ(Counter("paynotify_relay_returned_total"), 1);
  EXPECT_EQ(Counter("paynotify_relay_confirmed_total"), 0);
}

TEST_F(RelayTest, ConnectionLostMidBatchKeepsUnknownDeletesConfirmed) {
  const int64_t a = store_.Add();
  const int64_t b = store_.Add();
  const int64_t c = store_.Add();
  const int64_t d = store_.Add();
  publisher_.behavior = [](auto) {
    return std::vector<PublishResult>{
        Outcome(PublishOutcome::kConfirmed), Outcome(PublishOutcome::kConfirmed),
        Outcome(PublishOutcome::kUnknown, "connection closed by broker"),
        Outcome(PublishOutcome::kUnknown, "connection closed by broker")};
  };
  const BatchResult result = relay_.RunOnce();
  EXPECT_EQ(result.confirmed, 2u);
  EXPECT_EQ(result.retried, 2u);
  EXPECT_FALSE(store_.Get(a));
  EXPECT_FALSE(store_.Get(b));
  ASSERT_TRUE(store_.Get(c));
  EXPECT_EQ(store_.Get(c)->failure, "unknown: connection closed by broker");
  EXPECT_EQ(store_.Get(d)->record.execute_num, 1);
  EXPECT_FALSE(relay_.BrokerUp());
  EXPECT_EQ(Counter("paynotify_relay_unknown_total"), 2);
}

TEST_F(RelayTest, BackoffScheduleIsCappedExponential) {
  const int64_t id = store_.Add();
  publisher_.behavior = [](auto msgs) {
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kNacked));
  };
  const std::vector<int> expected_s{1, 2, 4, 8, 16, 32, 60, 60, 60};
  for (size_t attempt = 0; attempt < expected_s.size(); ++attempt) {
    ASSERT_EQ(relay_.RunOnce().claimed, 1u) << "attempt " << attempt;
    const auto delay = std::chrono::seconds(expected_s[attempt]);
    EXPECT_EQ(store_.Get(id)->next_attempt_at, clock_.WallNow() + delay) << "attempt " << attempt;
    clock_.Advance(delay - 1ms);
    EXPECT_EQ(relay_.RunOnce().claimed, 0u) << "due too early after attempt " << attempt;
    clock_.Advance(1ms);
  }
  EXPECT_EQ(store_.Get(id)->record.execute_num, static_cast<int>(expected_s.size()));
}

TEST_F(RelayTest, BrokerDownLeavesRowsUntouched) {
  const int64_t id = store_.Add();
  publisher_.unavailable = true;
  EXPECT_THROW(relay_.RunOnce(), PublisherUnavailable);
  auto row = store_.Get(id);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->record.execute_num, 0);
  EXPECT_FALSE(row->locked);
  EXPECT_FALSE(row->failure);
  EXPECT_FALSE(relay_.BrokerUp());
  publisher_.unavailable = false;
  EXPECT_EQ(relay_.RunOnce().confirmed, 1u);
}

TEST_F(RelayTest, FailedCompletionRepublishesTheBatch) {
  const int64_t id = store_.Add();
  store_.fail_complete = true;
  EXPECT_THROW(relay_.RunOnce(), OutboxUnavailable);
  EXPECT_TRUE(store_.Get(id));
  EXPECT_FALSE(relay_.DatabaseUp());
  store_.fail_complete = false;
  EXPECT_EQ(relay_.RunOnce().confirmed, 1u);
  EXPECT_TRUE(relay_.DatabaseUp());
  // at-least-once: the same message_id went out twice
  ASSERT_EQ(publisher_.published.size(), 2u);
  EXPECT_EQ(publisher_.published[0].message_id, publisher_.published[1].message_id);
}

TEST_F(RelayTest, ClaimsAtMostTheBatchSizeInIdOrder) {
  for (int i = 0; i < 25; ++i) store_.Add();
  EXPECT_EQ(relay_.RunOnce().claimed, 10u);
  EXPECT_EQ(publisher_.published.front().body.find(R"({"id":1,)"), 0u);
  EXPECT_EQ(relay_.RunOnce().claimed, 10u);
  EXPECT_EQ(relay_.RunOnce().claimed, 5u);
  EXPECT_EQ(store_.Size(), 0u);
}

TEST_F(RelayTest, ShortPublisherAnswerCountsAsUnknown) {
  store_.Add();
  const int64_t b = store_.Add();
  publisher_.behavior = [](auto) { return std::vector<PublishResult>{Outcome(PublishOutcome::kConfirmed)}; };
  relay_.RunOnce();
  ASSERT_TRUE(store_.Get(b));
  EXPECT_EQ(store_.Get(b)->failure, "unknown: no outcome reported");
}

TEST_F(RelayTest, RunLoopPublishesUntilStopped) {
  for (int i = 0; i < 35; ++i) store_.Add();
  {
    std::jthread worker([this](std::stop_token stop) { relay_.Run(stop); });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (store_.Size() != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
  }  // jthread requests stop and joins
  EXPECT_EQ(store_.Size(), 0u);
  EXPECT_EQ(publisher_.PublishedCount(), 35u);
  EXPECT_EQ(publisher_.connects, 1);
  EXPECT_EQ(registry_.GetGauge("paynotify_outbox_pending", "").Value(), 25);  // refreshed after the first batch
}

TEST_F(RelayTest, DatabaseUpStaysTrueForAFailureThatIsNotAnOutage) {
  store_.Add();
  EXPECT_EQ(relay_.RunOnce().confirmed, 1u);
  EXPECT_TRUE(relay_.DatabaseUp());
  store_.on_claim = [](int) { throw std::runtime_error("column \"execute_num\" does not exist"); };
  EXPECT_THROW(relay_.RunOnce(), std::runtime_error);
  EXPECT_TRUE(relay_.DatabaseUp()) << "the database answered: it is up";
  store_.on_claim = [](int) { throw OutboxUnavailable("connection refused"); };
  EXPECT_THROW(relay_.RunOnce(), OutboxUnavailable);
  EXPECT_FALSE(relay_.DatabaseUp());
  store_.on_claim = nullptr;
  relay_.RunOnce();
  EXPECT_TRUE(relay_.DatabaseUp());
}

// The run loop with its own back-off settings, over RelayTest's fakes. The back-off is waited
// on the Clock: ManualClock records it and returns at once, so the whole outage runs in no
// real time and the schedule is read from Sleeps().
class RelayRunTest : public RelayTest {
 protected:
  /// A relay over the same store, publisher, clock and registry with other settings.
  std::unique_ptr<Relay> RelayWith(const RelaySettings& settings) {
    return std::make_unique<Relay>(settings, store_, publisher_, wake_, clock_, registry_);
  }
};

// Issue 11: a row whose publishes keep failing is parked at exactly relay.max-attempts.
class RelayParkingTest : public RelayTest {
 protected:
  static RelaySettings Parking(int max_attempts) {
    RelaySettings s = Settings();
    s.max_attempts = max_attempts;
    return s;
  }
  void NackAll() {
    publisher_.behavior = [](auto msgs) {
      return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kNacked));
    };
  }
  /// Nacks the messages of the given outbox ids, confirms the rest.
  void NackOnly(std::set<int64_t> ids) {
    publisher_.behavior = [ids](auto msgs) {
      std::vector<PublishResult> results;
      for (const auto& m : msgs) {
        const bool nack = std::any_of(ids.begin(), ids.end(), [&](int64_t id) { return m.message_id == MessageId(id); });
        results.push_back(Outcome(nack ? PublishOutcome::kNacked : PublishOutcome::kConfirmed));
      }
      return results;
    };
  }
  static std::string MessageId(int64_t id) { return "00000000-0000-4000-8000-" + std::to_string(100000000000 + id); }
  std::vector<std::string> PublishedIds() {
    std::vector<std::string> ids;
    for (const auto& m : publisher_.published) ids.push_back(m.message_id);
    return ids;
  }
  double Gauge(const std::string& name) { return registry_.GetGauge(name, "").Value(); }
};

TEST_F(RelayParkingTest, ParksAtExactlyMaxAttemptsNotBefore) {
  Relay relay(Parking(3), store_, publisher_, wake_, clock_, registry_);
  const int64_t id = store_.Add();
  NackAll();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const BatchResult result = relay.RunOnce();
    EXPECT_EQ(result.retried, 1u) << "attempt " << attempt;
    EXPECT_EQ(result.parked, 0u) << "attempt " << attempt;
    EXPECT_FALSE(store_.Get(id)->parked_at) << "parked too early, attempt " << attempt;
    EXPECT_EQ(Counter("paynotify_relay_parked_total"), 0);
    clock_.Advance(1h);
  }
  ::testing::internal::CaptureStderr();
  const BatchResult third = relay.RunOnce();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(third.parked, 1u);
  EXPECT_EQ(third.retried, 0u);
  const auto row = store_.Get(id);
  ASSERT_TRUE(row) << "a parked row is kept";
  EXPECT_EQ(row->parked_at, clock_.WallNow());
  EXPECT_EQ(row->record.execute_num, 3);
  EXPECT_EQ(row->failure, "nacked");
  EXPECT_EQ(Counter("paynotify_relay_parked_total"), 1);
  EXPECT_NE(log.find("warn"), std::string::npos) << log;
  EXPECT_NE(log.find("outbox row parked outbox_id=" + std::to_string(id) + " message_id=" + MessageId(id) +
                     " attempts=3 last_error=nacked"),
            std::string::npos)
      << log;

  // Never claimed again, however long we wait.
  publisher_.behavior = nullptr;
  clock_.Advance(24h);
  EXPECT_EQ(relay.RunOnce().claimed, 0u);
  EXPECT_EQ(publisher_.published.size(), 3u);
  relay.RefreshStats();
  EXPECT_EQ(Gauge("paynotify_outbox_parked_rows"), 1);
  EXPECT_EQ(Gauge("paynotify_outbox_pending"), 0);
}

TEST_F(RelayParkingTest, EveryKindOfFailureCountsAndOneAttemptParksAtTheFirst) {
  Relay relay(Parking(1), store_, publisher_, wake_, clock_, registry_);
  const int64_t nacked = store_.Add();
  const int64_t returned = store_.Add();
  const int64_t lost = store_.Add();
  const int64_t ok = store_.Add();
  publisher_.behavior = [](auto) {
    return std::vector<PublishResult>{Outcome(PublishOutcome::kNacked), Outcome(PublishOutcome::kReturned),
                                      Outcome(PublishOutcome::kUnknown, "connection closed by broker"),
                                      Outcome(PublishOutcome::kConfirmed)};
  };
  const BatchResult result = relay.RunOnce();
  EXPECT_EQ(result.parked, 3u);
  EXPECT_EQ(result.confirmed, 1u);
  EXPECT_EQ(store_.Get(nacked)->failure, "nacked");
  EXPECT_EQ(store_.Get(returned)->failure, "returned");
  EXPECT_EQ(store_.Get(lost)->failure, "unknown: connection closed by broker");
  for (int64_t id : {nacked, returned, lost}) EXPECT_TRUE(store_.Get(id)->parked_at) << id;
  EXPECT_FALSE(store_.Get(ok));
  EXPECT_EQ(Counter("paynotify_relay_parked_total"), 3);
}

TEST_F(RelayParkingTest, ALaterRowOfTheSameKeyWaitsWhileAnEarlierOneBacksOff) {
  const int64_t first = store_.Add("cs-7");
  const int64_t second = store_.Add("cs-7");
  const int64_t other = store_.Add("cs-8");
  NackOnly({first});
  BatchResult result = relay_.RunOnce();
  EXPECT_EQ(result.claimed, 2u) << "one row per key: the second cs-7 row waits for the first";
  EXPECT_EQ(PublishedIds(), (std::vector<std::string>{MessageId(first), MessageId(other)}));
  // The first backs off for 1 s; the second stays behind it all that time.
  clock_.Advance(999ms);
  EXPECT_EQ(relay_.RunOnce().claimed, 0u);
  clock_.Advance(1ms);
  publisher_.behavior = nullptr;
  result = relay_.RunOnce();
  EXPECT_EQ(result.claimed, 1u);
  EXPECT_EQ(result.confirmed, 1u);
  EXPECT_EQ(relay_.RunOnce().confirmed, 1u);
  EXPECT_EQ(PublishedIds(), (std::vector<std::string>{MessageId(first), MessageId(other), MessageId(first),
                                                       MessageId(second)}));
  EXPECT_EQ(store_.Size(), 0u);
}

TEST_F(RelayParkingTest, AParkedRowDoesNotHoldBackItsKey) {
  Relay relay(Parking(2), store_, publisher_, wake_, clock_, registry_);
  const int64_t poison = store_.Add("cs-7");
  const int64_t later = store_.Add("cs-7");
  NackOnly({poison});
  EXPECT_EQ(relay.RunOnce().claimed, 1u);
  clock_.Advance(1s);
  EXPECT_EQ(relay.RunOnce().parked, 1u);
  // Parked: the next row of its key goes out, the parked one stays put.
  EXPECT_EQ(relay.RunOnce().confirmed, 1u);
  EXPECT_EQ(PublishedIds(), (std::vector<std::string>{MessageId(poison), MessageId(poison), MessageId(later)}));
  EXPECT_FALSE(store_.Get(later));
  ASSERT_TRUE(store_.Get(poison));
  EXPECT_TRUE(store_.Get(poison)->parked_at);
  clock_.Advance(1h);
  EXPECT_EQ(relay.RunOnce().claimed, 0u);
}

TEST_F(RelayParkingTest, AnUnencodableRowIsParkedAtOnceAndHoldsNothingBack) {
  const int64_t bad = store_.Add(std::string("cs-\xff"));
  const int64_t next = store_.Add(std::string("cs-\xff"));
  EXPECT_EQ(relay_.RunOnce().parked, 1u);
  const auto row = store_.Get(bad);
  ASSERT_TRUE(row);
  EXPECT_TRUE(row->parked_at);
  EXPECT_EQ(row->record.execute_num, 1);
  EXPECT_EQ(row->failure->rfind("unencodable: ", 0), 0u) << *row->failure;
  EXPECT_TRUE(publisher_.published.empty());
  EXPECT_EQ(Counter("paynotify_relay_parked_total"), 1);
  // The next row of that key is claimed now; it cannot be encoded either.
  EXPECT_EQ(relay_.RunOnce().parked, 1u);
  EXPECT_TRUE(store_.Get(next)->parked_at);
}

TEST_F(RelayParkingTest, AParkIsAnnouncedOnlyOnceItIsCommitted) {
  Relay relay(Parking(1), store_, publisher_, wake_, clock_, registry_);
  const int64_t id = store_.Add();
  NackAll();
  store_.fail_complete = true;
  EXPECT_THROW(relay.RunOnce(), OutboxUnavailable);
  EXPECT_EQ(Counter("paynotify_relay_parked_total"), 0);
  EXPECT_FALSE(store_.Get(id)->parked_at);
  EXPECT_EQ(store_.Get(id)->record.execute_num, 0);
  store_.fail_complete = false;
  EXPECT_EQ(relay.RunOnce().parked, 1u);
  EXPECT_EQ(Counter("paynotify_relay_parked_total"), 1);
}

TEST_F(RelayRunTest, BacksOffOnTheClockWhileTheBrokerIsDownAndStopsWhenAsked) {
  RelaySettings settings = Settings();
  settings.broker_reconnect = runtime::BackoffPolicy{500ms, 2.0, 4000ms};
  const auto relay = RelayWith(settings);
  store_.Add();
  publisher_.unavailable = true;
  std::stop_source stop;
  publisher_.on_connect = [&](int attempt) {
    if (attempt == 7) stop.request_stop();
  };
  relay->Run(stop.get_token());  // returns: the stop is seen by the seventh back-off wait
  EXPECT_EQ(clock_.Sleeps(), (std::vector<milliseconds>{500ms, 1000ms, 2000ms, 4000ms, 4000ms, 4000ms}));
  EXPECT_EQ(Counter("paynotify_relay_errors_total", {{"kind", "broker"}}), 7);
  EXPECT_EQ(Counter("paynotify_relay_errors_total", {{"kind", "database"}}), 0);
  EXPECT_EQ(store_.Size(), 1u);
  EXPECT_EQ(store_.Get(1)->record.execute_num, 0) << "no attempt is counted against the row";
  EXPECT_FALSE(relay->BrokerUp());
}

// OrderService::Connect() opens the broker connection at start-up and hands it to the relay
// already open: the relay must still report the broker up before the first message (the
// e2e /readyz check found this).
TEST_F(RelayRunTest, AConnectionHandedOverOpenIsReportedUpWithoutAMessage) {
  const auto relay = RelayWith(Settings());
  publisher_.connected = true;  // connected before Run(), as at start-up
  std::stop_source stop;
  store_.on_claim = [&](int call) {
    if (call == 1) stop.request_stop();
  };
  EXPECT_FALSE(relay->BrokerUp());
  relay->Run(stop.get_token());
  EXPECT_TRUE(relay->BrokerUp());
  EXPECT_EQ(publisher_.connects, 0) << "no second connect";
}

// Each failure is counted as what it is, and each cause backs off on its own schedule; a
// success resets both.
TEST_F(RelayRunTest, CountsDatabaseOutagesAndOtherFailuresApartAndBacksOffForEach) {
  RelaySettings settings = Settings();
  settings.database_reconnect = runtime::BackoffPolicy{100ms, 3.0, 1000ms};
  const auto relay = RelayWith(settings);
  std::stop_source stop;
  // Claims 1-3: the database is unavailable; 4: a failure that is no outage; 5: fine;
  // 6: unavailable again (the back-off starts over); 7: stop.
  store_.on_claim = [&](int call) {
    if (call <= 3 || call == 6) throw OutboxUnavailable("server closed the connection unexpectedly");
    if (call == 4) throw std::logic_error("unexpected row shape");
    if (call == 7) stop.request_stop();
  };
  relay->Run(stop.get_token());
  const auto kinds = [&](const char* kind) { return Counter("paynotify_relay_errors_total", {{"kind", kind}}); };
  EXPECT_EQ(kinds("database"), 4);
  EXPECT_EQ(kinds("internal"), 1);
  EXPECT_EQ(kinds("broker"), 0);
  EXPECT_EQ(clock_.Sleeps(), (std::vector<milliseconds>{100ms, 300ms, 900ms, 1000ms, 100ms}));
  EXPECT_TRUE(relay->DatabaseUp()) << "claim 7 succeeded";
}

// Issue 11 §3: the outbox stats are refreshed while the broker is down (the backlog grows
// exactly then), on their own schedule; LastStats() is unknown before the first refresh.
TEST_F(RelayRunTest, RefreshesTheOutboxStatsWhileTheBrokerIsDown) {
  RelaySettings settings = Settings();
  settings.broker_reconnect = runtime::BackoffPolicy{500ms, 2.0, 500ms};
  settings.stats_interval = 1000ms;
  const auto relay = RelayWith(settings);
  EXPECT_FALSE(relay->LastStats()) << "unknown before the first sample";
  store_.Add();
  store_.Add();
  publisher_.unavailable = true;
  std::stop_source stop;
  int refreshed_at_attempt = 0;
  publisher_.on_connect = [&](int attempt) {
    if (attempt == 2) store_.Add();  // a row that arrives during the outage
    if (attempt == 4 && relay->LastStats() && relay->LastStats()->stats.pending == 3) refreshed_at_attempt = attempt;
    if (attempt == 5) stop.request_stop();
  };
  relay->Run(stop.get_token());
  EXPECT_EQ(refreshed_at_attempt, 4) << "the stats followed the backlog during the outage";
  ASSERT_TRUE(relay->LastStats());
  EXPECT_EQ(relay->LastStats()->stats.pending, 3);
  EXPECT_EQ(registry_.GetGauge("paynotify_outbox_pending", "").Value(), 3);
  EXPECT_FALSE(relay->BrokerUp());
}

// ---- relay.workers: a lead and its helpers (RelayTeam) ------------------------------------

TEST_F(RelayTest, TheLeadRecordsWhetherItsBatchesComeBackFull) {
  for (int i = 0; i < 25; ++i) store_.Add();  // batches of 10: full, full, 5
  RelayTeam team;
  Relay lead(Settings(), store_, publisher_, wake_, clock_, registry_, RelayRole{&team, false});
  std::vector<bool> backlog_seen;  // at each publish
  publisher_.behavior = [&](auto msgs) {
    backlog_seen.push_back(team.Backlog());
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kConfirmed));
  };
  {
    std::jthread worker([&](std::stop_token stop) { lead.Run(stop); });
    EXPECT_TRUE(Eventually([&] { return store_.Size() == 0 && lead.RowsConfirmed() == 25; }));
    // The batch after the last one was not full (empty): no backlog left.
    EXPECT_TRUE(Eventually([&] { return !team.Backlog(); }));
  }
  EXPECT_EQ(backlog_seen, (std::vector<bool>{false, true, true}));
}

TEST_F(RelayTest, AHelperDoesNothingUntilItsLeadReportsABacklog) {
  for (int i = 0; i < 25; ++i) store_.Add();
  RelayTeam team;
  RelaySettings settings = Settings();
  settings.poll_interval = 10s;  // only the lead's report can wake it in time
  Relay helper(settings, store_, publisher_, team, clock_, registry_, RelayRole{&team, true});
  {
    std::jthread worker([&](std::stop_token stop) { helper.Run(stop); });
    std::this_thread::sleep_for(50ms);
    // Idle: no claim, no connection attempt (so no error to count), no gauges.
    EXPECT_EQ(store_.claims, 0);
    EXPECT_EQ(publisher_.connect_attempts, 0);
    EXPECT_FALSE(helper.BrokerUp());
    EXPECT_FALSE(helper.DatabaseUp());
    team.SetBacklog(true);
    EXPECT_TRUE(Eventually([&] { return store_.Size() == 0; }));
  }  // the stop ends its wait at once, not after the 10 s poll interval
  EXPECT_EQ(publisher_.PublishedCount(), 25u);
  EXPECT_EQ(helper.RowsConfirmed(), 25u);
  EXPECT_TRUE(helper.BrokerUp());
  EXPECT_EQ(store_.stats_calls, 0);  // the gauges are the lead's to keep
}

// A lead and a helper on one store: the helper is woken by the lead's first full batch and
// takes part.
TEST_F(RelayTest, ALeadAndItsHelperDrainABacklogTogether) {
  for (int i = 0; i < 200; ++i) store_.Add();
  RelayTeam team;
  FakePublisher helper_publisher;
  const auto slow = [](auto msgs) {  // ~2 ms per batch, as a confirm round trip
    std::this_thread::sleep_for(2ms);
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kConfirmed));
  };
  publisher_.behavior = slow;
  helper_publisher.behavior = slow;
  const Confirmed confirmed = DrainAsLeadAndHelper(team, helper_publisher);
  EXPECT_EQ(confirmed.by_lead + confirmed.by_helper, 200u);
  EXPECT_GT(confirmed.by_helper, 0u) << "the helper was never woken";
  EXPECT_GT(confirmed.by_lead, 0u);
  EXPECT_EQ(publisher_.PublishedCount() + helper_publisher.PublishedCount(), 200u);  // none twice
  EXPECT_FALSE(team.Backlog());
}

// The publish turn (RelayTeam::PublishTurn): the workers of a team never send at the same
// time, and a worker sends while another waits for its last confirms.
TEST_F(RelayTest, TeamWorkersSendOneAtATimeAndEachWhileAnotherAwaitsItsConfirms) {
  for (int i = 0; i < 200; ++i) store_.Add();
  RelayTeam team;
  FakePublisher helper_publisher;
  std::mutex mutex;
  std::condition_variable changed;
  int sending = 0;
  int most_sending = 0;
  int helper_sends = 0;
  // Each send lasts until another worker starts sending too, or 20 ms: without the turn the
  // two overlap as soon as both are busy.
  const auto sending_for = [&](int& sends) {
    return [&](auto, const std::function<void()>&) {
      std::unique_lock lock(mutex);
      ++sends;
      most_sending = std::max(most_sending, ++sending);
      changed.notify_all();
      changed.wait_for(lock, 20ms, [&] { return sending > 1; });
      --sending;
    };
  };
  int lead_sends = 0;
  publisher_.on_sending = sending_for(lead_sends);
  helper_publisher.on_sending = sending_for(helper_sends);
  // The lead's second batch waits for its confirms until the helper (woken by the lead's first
  // full batch) has sent: it can only if the lead's turn ended with its sending.
  bool helper_sent_while_lead_awaited = false;
  publisher_.behavior = [&](auto msgs) {
    if (lead_sends == 2) {
      std::unique_lock lock(mutex);
      const int before = helper_sends;
      helper_sent_while_lead_awaited = changed.wait_for(lock, 5s, [&] { return helper_sends > before; });
    }
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kConfirmed));
  };
  const Confirmed confirmed = DrainAsLeadAndHelper(team, helper_publisher);
  EXPECT_EQ(confirmed.by_lead + confirmed.by_helper, 200u);
  EXPECT_GT(confirmed.by_helper, 0u) << "the helper was never woken";
  EXPECT_EQ(most_sending, 1) << "two workers sent at the same time";
  EXPECT_TRUE(helper_sent_while_lead_awaited) << "the turn was held through the confirms";
}

// A round that ends before its last message is sent (no confirm in time, a lost broker) does
// not keep the turn: the next worker sends at once.
TEST_F(RelayTest, ARoundThatEndsUnsentOrThrowsLeavesTheTurnFree) {
  RelayTeam team;
  RelaySettings settings = Settings();
  settings.confirm_timeout = 10s;  // a kept turn would hold the other worker this long
  FakePublisher other_publisher;
  Relay first(settings, store_, publisher_, wake_, clock_, registry_, RelayRole{&team, false});
  Relay second(settings, store_, other_publisher, team, clock_, registry_, RelayRole{&team, true});
  const auto quickly = [&](Relay& relay) {
    const auto started = std::chrono::steady_clock::now();
    relay.RunOnce();
    return std::chrono::steady_clock::now() - started < 5s;
  };

  store_.Add();
  publisher_.skip_all_sent = true;  // as a batch that timed out before it sent everything
  publisher_.behavior = [](auto msgs) {
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kUnknown, "no confirm"));
  };
  EXPECT_TRUE(quickly(first));
  clock_.Advance(2s);  // the row's back-off
  EXPECT_TRUE(quickly(second));
  EXPECT_EQ(other_publisher.PublishedCount(), 1u);

  store_.Add();
  // The connection found dead as the round starts, and no new one: a throw with the turn held.
  other_publisher.on_sending = [](auto, const std::function<void()>&) {
    throw PublisherUnavailable("connection refused");
  };
  EXPECT_THROW(second.RunOnce(), PublisherUnavailable);
  publisher_.skip_all_sent = false;
  publisher_.behavior = nullptr;
  EXPECT_TRUE(quickly(first));
  EXPECT_EQ(store_.Size(), 0u);
}

// The turn only paces the team: a worker that cannot have it within relay.confirm-timeout
// (another worker's sender stuck on a broker that takes nothing) sends without it.
TEST_F(RelayTest, AWorkerSendsWithoutTheTurnAfterWaitingTheConfirmTimeout) {
  RelayTeam team;
  RelaySettings settings = Settings();
  settings.confirm_timeout = 50ms;
  Relay worker(settings, store_, publisher_, wake_, clock_, registry_, RelayRole{&team, false});
  store_.Add();
  std::unique_lock held(team.PublishTurn());  // another worker's send that never ends
  const auto started = std::chrono::steady_clock::now();
  const BatchResult result = worker.RunOnce();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
  EXPECT_EQ(result.confirmed, 1u);
  EXPECT_EQ(store_.Size(), 0u);
}

TEST_F(RelayTest, ALeadThatFailsClearsTheBacklogSoHelpersStop) {
  store_.Add();
  RelayTeam team;
  team.SetBacklog(true);
  Relay lead(Settings(), store_, publisher_, wake_, clock_, registry_, RelayRole{&team, false});
  publisher_.unavailable = true;
  {
    std::jthread worker([&](std::stop_token stop) { lead.Run(stop); });
    EXPECT_TRUE(Eventually([&] { return !team.Backlog(); }));
  }
  EXPECT_EQ(store_.Size(), 1u);
}

TEST(RelayTeamTest, WaitForFullBatchSeesOnlyFullBatchesReportedAfterSeen) {
  RelayTeam team;
  const uint64_t seen = team.FullBatches();
  EXPECT_FALSE(team.WaitForFullBatch(seen, 10ms));  // nothing reported: the timeout
  team.SetBacklog(false);                           // a batch that was not full
  EXPECT_FALSE(team.WaitForFullBatch(seen, 10ms));
  EXPECT_FALSE(team.Backlog());
  team.SetBacklog(true);
  // Reported after `seen` was read, before the wait began: not missed.
  EXPECT_TRUE(team.WaitForFullBatch(seen, 0ms));
  EXPECT_TRUE(team.Backlog());
  EXPECT_FALSE(team.WaitForFullBatch(team.FullBatches(), 10ms));  // nothing newer
}

TEST(RelayTeamTest, AWaitingHelperIsWokenByAFullBatchAndByAStop) {
  RelayTeam team;
  std::atomic<bool> woke{false};
  {
    const uint64_t seen = team.FullBatches();
    std::jthread helper([&] { woke = team.WaitForFullBatch(seen, 10s); });
    team.SetBacklog(false);
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(woke.load()) << "a batch that was not full woke it";
    team.SetBacklog(true);
    EXPECT_TRUE(Eventually([&] { return woke.load(); }));
  }
  std::stop_source stop;
  bool returned = false;
  const auto start = std::chrono::steady_clock::now();
  {
    std::jthread helper([&] { returned = !team.WaitForFullBatch(team.FullBatches(), 10s, stop.get_token()); });
    std::this_thread::sleep_for(20ms);
    stop.request_stop();
  }
  EXPECT_TRUE(returned);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// ---- a batch's rounds: rows that arrive while it publishes join it ----------------------

/// A WakeSource whose wake-ups the test raises: Wait() and Pending() each take them all.
/// Pending() does not wait; it records how long it was asked to, and runs `while_open` first
/// (a row arriving while the batch is open).
class RaisedWakes : public WakeSource {
 public:
  std::atomic<int> raised{0};
  std::atomic<int> pending_calls{0};
  std::atomic<int> wait_calls{0};
  std::vector<milliseconds> pending_within;
  std::function<void()> while_open;
  bool Wait(milliseconds timeout) override {
    ++wait_calls;
    if (raised.exchange(0) > 0) return true;
    std::this_thread::sleep_for(std::min(timeout, milliseconds(5)));
    return false;
  }
  bool Pending(milliseconds within) override {
    ++pending_calls;
    pending_within.push_back(within);
    if (raised.load() == 0 && while_open) while_open();
    return raised.exchange(0) > 0;
  }
};

class RelayRoundsTest : public RelayTest {
 protected:
  RelayRoundsTest() : rounds_relay_(RoundSettings(), store_, publisher_, wakes_, clock_, registry_) {}
  static RelaySettings RoundSettings() {
    RelaySettings s = Settings();
    s.batch_size = 100;
    return s;
  }
  /// While round `round` (1-based) is published, `arrive` runs (adds rows, raises a wake-up);
  /// every message is confirmed.
  void DuringRound(std::function<void(int round)> arrive) {
    publisher_.behavior = [this, arrive = std::move(arrive)](auto msgs) {
      arrive(++rounds_seen_);
      return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kConfirmed));
    };
  }
  std::vector<int64_t> PublishedIds() {
    std::vector<int64_t> ids;
    for (const auto& m : publisher_.published) ids.push_back(BodyId(m.body));
    return ids;
  }
  static int64_t BodyId(const std::string& body) { return nlohmann::json::parse(body).at("id").get<int64_t>(); }

  RaisedWakes wakes_;
  Relay rounds_relay_;
  int rounds_seen_ = 0;
};

TEST_F(RelayRoundsTest, ARowThatArrivesWhileTheBatchPublishesJoinsItAndOneCommitCoversBoth) {
  const int64_t a = store_.Add();
  int64_t b = 0;
  DuringRound([&](int round) {
    if (round != 1) return;
    b = store_.Add();
    ++wakes_.raised;
  });
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 2u);
  EXPECT_EQ(result.confirmed, 2u);
  EXPECT_TRUE(result.woken);
  EXPECT_EQ(store_.Size(), 0u);
  EXPECT_EQ(store_.completes, 1) << "one delete and commit for both rounds";
  EXPECT_EQ(rounds_seen_, 2);
  EXPECT_EQ(PublishedIds(), (std::vector<int64_t>{a, b}));
  EXPECT_EQ(Counter("paynotify_relay_batch_extensions_total"), 1);
}

TEST_F(RelayRoundsTest, WithoutAWakeUpTheBatchCompletesAfterItsFirstRound) {
  store_.Add();
  DuringRound([&](int) { store_.Add(); });  // arrives, but its NOTIFY never comes
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 1u);
  EXPECT_FALSE(result.woken);
  EXPECT_EQ(store_.Size(), 1u);
  EXPECT_EQ(wakes_.pending_calls, 1);
  EXPECT_EQ(Counter("paynotify_relay_batch_extensions_total"), 0);
}

// The batch's commit is not on any message's path, so after its round the batch stays open
// for the rest of its 50 ms window: a row announced meanwhile is published at once, and the
// delete waits for the window to pass without a new row.
TEST_F(RelayRoundsTest, TheBatchStaysOpenForItsWindowAndARowArrivingThenJoinsIt) {
  const int64_t a = store_.Add();
  int64_t b = 0;
  DuringRound([&](int) { clock_.Advance(2ms); });  // each round's publish takes 2 ms
  wakes_.while_open = [&] {
    if (b != 0) {
      clock_.Advance(milliseconds(48 - 4));  // the rest of the window passes: no new row
      return;
    }
    b = store_.Add();
    ++wakes_.raised;
  };
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 2u);
  EXPECT_EQ(result.confirmed, 2u);
  EXPECT_EQ(store_.completes, 1) << "one delete and commit for both";
  EXPECT_EQ(PublishedIds(), (std::vector<int64_t>{a, b}));
  EXPECT_EQ(wakes_.pending_within, (std::vector<milliseconds>{48ms, 46ms}))
      << "it waits for what is left of the window, no longer";
  EXPECT_EQ(Counter("paynotify_relay_batch_extensions_total"), 1);
}

// The first wake-up is for a row the batch's own claim already took (its NOTIFY was still on
// its way) and brings nothing the batch can take: the batch stays open, and a row that comes
// later in the window still joins it.
TEST_F(RelayRoundsTest, AWakeUpThatBringsNoRowLeavesTheBatchOpenForTheRestOfItsWindow) {
  const int64_t a = store_.Add();
  int64_t b = 0;
  int opened = 0;
  DuringRound([&](int) { clock_.Advance(2ms); });
  wakes_.while_open = [&] {
    switch (++opened) {
      case 1:  // the NOTIFY of `a`
        ++wakes_.raised;
        return;
      case 2:
        b = store_.Add();
        ++wakes_.raised;
        return;
      default:
        clock_.Advance(50ms);  // the rest of the window passes
    }
  };
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 2u);
  EXPECT_EQ(store_.completes, 1);
  EXPECT_EQ(PublishedIds(), (std::vector<int64_t>{a, b}));
  EXPECT_EQ(rounds_seen_, 2) << "a round with nothing new publishes nothing";
  EXPECT_EQ(wakes_.pending_calls, 3);
  EXPECT_EQ(Counter("paynotify_relay_batch_extensions_total"), 1);
}

// Wake-ups that keep coming and never bring a row the batch can take (rows of keys it holds,
// NOTIFYs of rows another relay took): the first leaves the batch open, the second ends it;
// a round with nothing new publishes nothing.
TEST_F(RelayRoundsTest, ASecondWakeUpThatBringsNoRowEndsTheBatch) {
  store_.Add();
  wakes_.while_open = [&] { ++wakes_.raised; };
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 1u);
  EXPECT_EQ(result.confirmed, 1u);
  EXPECT_TRUE(result.woken);
  EXPECT_EQ(wakes_.pending_calls, 2);
  EXPECT_EQ(publisher_.published.size(), 1u);
  EXPECT_EQ(store_.completes, 1);
  EXPECT_EQ(Counter("paynotify_relay_published_total"), 1);
  EXPECT_EQ(Counter("paynotify_relay_batch_extensions_total"), 0);
}

TEST_F(RelayRoundsTest, ABatchWhoseWindowHasPassedCompletesWithoutWaiting) {
  store_.Add();
  DuringRound([&](int) { clock_.Advance(50ms); });  // a slow confirm used the whole window
  EXPECT_EQ(rounds_relay_.RunOnce().confirmed, 1u);
  EXPECT_EQ(wakes_.pending_calls, 0);
  EXPECT_EQ(store_.completes, 1);
}

TEST_F(RelayRoundsTest, ARoundNotFullyConfirmedEndsTheBatch) {
  const int64_t a = store_.Add();
  publisher_.behavior = [&](auto msgs) {
    store_.Add();
    ++wakes_.raised;
    return std::vector<PublishResult>(msgs.size(), Outcome(PublishOutcome::kNacked));
  };
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 1u);
  EXPECT_EQ(result.retried, 1u);
  EXPECT_EQ(wakes_.pending_calls, 0) << "the wake-up is left for Run";
  EXPECT_EQ(store_.Get(a)->record.execute_num, 1);
  EXPECT_EQ(store_.Size(), 2u);
}

TEST_F(RelayRoundsTest, RoundsStopAtTheBatchSize) {
  RelaySettings settings = RoundSettings();
  settings.batch_size = 5;
  Relay relay(settings, store_, publisher_, wakes_, clock_, registry_);
  store_.Add();
  DuringRound([&](int) {
    store_.Add();
    store_.Add();
    ++wakes_.raised;
  });
  const BatchResult result = relay.RunOnce();
  EXPECT_EQ(result.claimed, 5u);  // 1, then 2, then 2 of the 2 that came: full
  EXPECT_EQ(rounds_seen_, 3);
  EXPECT_EQ(store_.completes, 1);
  EXPECT_EQ(store_.Size(), 2u);
}

TEST_F(RelayRoundsTest, RoundsStopAtTheirBoundsUnderASteadyFlow) {
  store_.Add();
  DuringRound([&](int) {
    store_.Add();
    ++wakes_.raised;
  });
  EXPECT_EQ(rounds_relay_.RunOnce().claimed, 16u);  // the round bound
  EXPECT_EQ(store_.completes, 1);
  rounds_seen_ = 0;
  DuringRound([&](int) {
    store_.Add();
    ++wakes_.raised;
    clock_.Advance(20ms);  // each round takes 20 ms: the 50 ms bound ends it after three
  });
  EXPECT_EQ(rounds_relay_.RunOnce().claimed, 3u);
  EXPECT_EQ(store_.completes, 2);
}

// The batch holds a row of key K, so a later row of K is not claimable until that row is
// deleted: the batch completes without it (its window passes, or a second wake-up ends it),
// and Run claims it at once rather than waiting for a wake-up that this batch already took.
TEST_F(RelayRoundsTest, ALaterRowOfAKeyTheBatchHoldsIsClaimedRightAfterTheBatch) {
  const int64_t a = store_.Add("cs-7");
  int64_t b = 0;
  DuringRound([&](int round) {
    if (round != 1) return;
    b = store_.Add("cs-7");
    ++wakes_.raised;
  });
  const BatchResult result = rounds_relay_.RunOnce();
  EXPECT_EQ(result.claimed, 1u);
  EXPECT_TRUE(result.woken);
  EXPECT_TRUE(store_.Get(b));
  EXPECT_EQ(Counter("paynotify_relay_batch_extensions_total"), 0);

  // Run: b and c go out together, d (behind c) arrives with a wake-up the batch takes; d
  // must be claimed before Run ever waits.
  const int64_t c = store_.Add("cs-8");
  int64_t d = 0;
  std::vector<int> waits_at_round;
  rounds_seen_ = 0;
  DuringRound([&](int round) {
    waits_at_round.push_back(wakes_.wait_calls);
    if (round != 1) return;
    d = store_.Add("cs-8");
    ++wakes_.raised;
  });
  {
    std::jthread worker([&](std::stop_token stop) { rounds_relay_.Run(stop); });
    EXPECT_TRUE(Eventually([&] { return store_.Size() == 0; }));
  }
  EXPECT_EQ(PublishedIds(), (std::vector<int64_t>{a, b, c, d}));
  EXPECT_EQ(waits_at_round, (std::vector<int>{0, 0})) << "Run waited for a wake-up the batch had taken";
}

TEST_F(RelayRoundsTest, ABrokerLostInALaterRoundKeepsTheEarlierRoundsConfirmed) {
  const int64_t a = store_.Add();
  int64_t b = 0;
  DuringRound([&](int) {
    b = store_.Add();
    ++wakes_.raised;
    publisher_.unavailable = true;  // the next round cannot connect
  });
  EXPECT_THROW(rounds_relay_.RunOnce(), PublisherUnavailable);
  EXPECT_FALSE(store_.Get(a)) << "confirmed in round 1: deleted";
  ASSERT_TRUE(store_.Get(b));
  EXPECT_EQ(store_.Get(b)->record.execute_num, 0) << "never published: no attempt counted";
  EXPECT_EQ(store_.completes, 1);
  EXPECT_FALSE(rounds_relay_.BrokerUp());
}

TEST_F(RelayRoundsTest, AFailedClaimInALaterRoundRollsTheWholeBatchBack) {
  const int64_t a = store_.Add();
  DuringRound([&](int) {
    store_.Add();
    ++wakes_.raised;
    store_.fail_claim_more = true;
  });
  EXPECT_THROW(rounds_relay_.RunOnce(), OutboxUnavailable);
  EXPECT_TRUE(store_.Get(a)) << "its delete was never committed: published again later";
  EXPECT_EQ(store_.completes, 0);
  EXPECT_FALSE(rounds_relay_.DatabaseUp());
  store_.fail_claim_more = false;
  publisher_.behavior = nullptr;
  EXPECT_EQ(rounds_relay_.RunOnce().confirmed, 2u);
  EXPECT_EQ(store_.Size(), 0u);
}

}  // namespace
}  // namespace paynotify::order

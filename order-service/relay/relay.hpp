#pragma once
/// The outbox relay core: claim due outbox rows, publish them with confirms, delete what the
/// broker confirmed, schedule the rest for another attempt, and park a row whose attempts
/// are used up. Ports only (OutboxStore, Publisher, WakeSource, Clock), so it is unit-tested
/// against fakes.
///
/// Guarantees: a row is deleted only after a broker confirm that was not preceded by a
/// return. A row is published at least once; it is published again when the relay dies or
/// its completing transaction fails after publishing (consumers dedupe by message_id),
/// unless it is parked: a row whose publish failed (nack, return, no confirm)
/// relay.max-attempts times in all is parked, never silently: a warning naming the row and
/// its message_id, paynotify_relay_parked_total, and the gauge paynotify_outbox_parked_rows
/// (read from the table). A row that cannot even be encoded is parked at once (its bytes
/// will not change by retrying). Rows of one business_key1 go out in id order; a parked row
/// does not hold back the later rows of its key (OutboxStore::Claim).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/metrics/registry.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/clock.hpp"
#include "order-service/outbox/outbox_store.hpp"
#include "order-service/relay/publisher.hpp"

namespace paynotify::order {

/// Port: what wakes an idle relay. PgWakeSource (LISTEN on relay.notify-channel) in production.
class WakeSource {
 public:
  virtual ~WakeSource() = default;
  /// Blocks up to `timeout`; true if a notification arrived (false = the poll interval
  /// elapsed). Must not throw for a lost connection (the adapter reconnects).
  virtual bool Wait(std::chrono::milliseconds timeout) = 0;
  /// Whether a notification arrives within `within` (zero: has already arrived), consumed as
  /// by Wait; never reconnects (a source whose connection is down answers false at once). The
  /// relay asks between the rounds of a batch (see RunOnce). A source that never answers true
  /// (the default, at once) keeps every batch to one claim.
  virtual bool Pending(std::chrono::milliseconds /*within*/) { return false; }
};

/// The relay's settings. The defaults here are THE defaults of the relay.* keys: the config
/// reader (ReadOrderConfig) takes them from a default-constructed RelaySettings, and the
/// shipped config/order-service.yaml states the same values (a unit test compares them).
struct RelaySettings {
  std::string exchange;                          ///< relay.exchange (default messages::kExchange)
  std::string routing_key;                       ///< "" for the fanout exchange
  /// relay.batch-size. 2000: on the bench, 2000 drained a backlog 1.25x faster than 500.
  size_t batch_size = 2000;
  std::chrono::milliseconds poll_interval{250};  ///< relay.poll-interval
  std::chrono::milliseconds confirm_timeout{10000};  ///< relay.confirm-timeout
  /// Per-row back-off after a failed attempt (relay.retry.*), by execute_num after the attempt.
  runtime::BackoffPolicy retry{std::chrono::milliseconds(1000), 2.0, std::chrono::milliseconds(60000)};
  /// relay.max-attempts (>= 1): the failed publish that brings a row's execute_num to this
  /// (or beyond, after the setting was lowered) parks it instead of scheduling a retry.
  /// 20 at the default back-off: about 14 minutes of retries (1+2+...+32 s, then 13 x 60 s).
  int max_attempts = 20;
  /// The relay's own back-off while the broker is unavailable (set from rabbitmq.reconnect.*).
  runtime::BackoffPolicy broker_reconnect{std::chrono::milliseconds(1000), 2.0,
                                          std::chrono::milliseconds(30000)};
  /// The relay's own back-off while the database is unavailable or a batch fails otherwise
  /// (set from database.reconnect.*).
  runtime::BackoffPolicy database_reconnect{std::chrono::milliseconds(500), 2.0,
                                            std::chrono::milliseconds(10000)};
  /// relay.stats-interval: how often the outbox gauges are refreshed (one cheap query).
  std::chrono::milliseconds stats_interval{5000};
  std::string app_id = "order-service";
  /// The logger's name: "relay", or "relay-2", "relay-3"... for the other workers of one
  /// daemon (relay.workers), so that each worker's lines can be told apart.
  std::string log_name = "relay";
};

/// One RunOnce() pass.
struct BatchResult {
  size_t claimed = 0;
  size_t confirmed = 0;
  size_t retried = 0;  ///< scheduled for another attempt
  size_t parked = 0;   ///< attempts used up (or unencodable): parked
  /// The batch took a wake-up (WakeSource::Pending) to claim more rows: Run claims again at
  /// once instead of waiting for the next one, for any row that wake-up announced and the
  /// batch could not take.
  bool woken = false;
};

/// The outbox gauges' values as last read from the table, and when (the relay's Clock).
struct OutboxSample {
  OutboxStats stats;
  std::chrono::steady_clock::time_point sampled_at;
};

/// The relay workers of one daemon (relay.workers) as a team: one lead and helpers. The lead
/// relays as a relay on its own does and records here whether its last batch came back full
/// (the outbox holds a backlog); it clears that when a batch of its fails. A helper claims
/// only while there is a backlog; otherwise it does nothing at all (no claim, no connection
/// attempt, no error counted) until the lead reports a full batch. So a trickle or a steady
/// flow is relayed in the lead's batches alone (no smaller batches, no extra claims:
/// bench/RESULTS.md 12), while a backlog (a burst larger than a batch, rows left by an
/// outage) is drained by all of them side by side: they take turns sending (PublishTurn), and
/// one claims, completes or waits for its last confirms while another sends. Helpers are a
/// throughput aid, not a fail-over: while the lead cannot relay, they stay idle (a second
/// daemon is the fail-over). Thread-safe.
///
/// The team is also the helpers' WakeSource: a helper does not LISTEN (every NOTIFY would
/// wake it for nothing); it sleeps until its lead reports a full batch.
class RelayTeam final : public WakeSource {
 public:
  /// The lead, after each batch: whether it came back full (false also after a failure). A
  /// full one wakes the helpers.
  void SetBacklog(bool backlog);
  bool Backlog() const;
  /// How many full batches the lead has reported so far (what WaitForFullBatch compares to).
  uint64_t FullBatches() const;
  /// True once the lead has reported more than `seen` full batches (at once if it already
  /// has: read `seen` before deciding to wait, and no report is missed); false after
  /// `timeout` or when `stop` is requested.
  bool WaitForFullBatch(uint64_t seen, std::chrono::milliseconds timeout, std::stop_token stop = {});
  /// WakeSource: WaitForFullBatch(FullBatches(), timeout).
  bool Wait(std::chrono::milliseconds timeout) override;
  /// The team's publish turn: a worker holds it while it sends a round, until the round's last
  /// message is written (it connects first: a broker that is down holds no turn). So the
  /// workers send one batch at a time, each while the others claim, wait for their last
  /// confirms or complete. Left to themselves, two workers fall into step: they publish side
  /// by side, then both wait out their last confirms, complete and claim, and no message
  /// reaches the broker meanwhile (bench/RESULTS.md 18). The turn only paces the team; nothing
  /// depends on it for correctness: a worker that has waited relay.confirm-timeout for it (a
  /// broker that takes no more messages holds a sender that long) sends without it.
  std::timed_mutex& PublishTurn() { return publish_turn_; }

 private:
  std::timed_mutex publish_turn_;
  mutable std::mutex mutex_;
  std::condition_variable_any full_batch_;
  bool backlog_ = false;       // guarded by mutex_
  uint64_t full_batches_ = 0;  // guarded by mutex_
};

/// A relay's place in its team; the default is a relay on its own (it always claims).
struct RelayRole {
  RelayTeam* team = nullptr;  ///< nullptr: alone
  bool helper = false;        ///< true: claims only while team->Backlog()
};

/// The retry reason written to returnfailure_msg for a publish result.
std::string RetryReason(const PublishResult& result);

/// Run() on one thread (its own jthread); BrokerUp()/DatabaseUp() from any thread.
/// Waiting (back-off) goes through the Clock: with ManualClock, Run() never sleeps in real
/// time for back-off and the test reads the waits from ManualClock::Sleeps().
class Relay {
 public:
  /// Every reference must outlive the relay.
  /// `role`: see RelayTeam (a helper does nothing without a backlog and never refreshes the
  /// outbox gauges, which its lead keeps).
  Relay(RelaySettings settings, OutboxStore& store, Publisher& publisher, WakeSource& wake,
        const runtime::Clock& clock, metrics::Registry& registry, RelayRole role = {});

  /// One batch: claim, publish, complete. Throws PublisherUnavailable (nothing published,
  /// claim rolled back) or the store's exception, OutboxUnavailable or other (claim rolled
  /// back; if it happened after publishing, those rows are published again later).
  ///
  /// A batch may have several rounds: when everything published so far was confirmed and the
  /// WakeSource says rows arrived meanwhile or arrive while the batch is open (Pending, for
  /// the rest of the batch's 50 ms window), they are claimed into the same transaction
  /// (ClaimedBatch::ClaimMore) and published at once; the batch completes (one delete, one
  /// commit) when its window passes without a new row, a wake-up other than its first brings
  /// nothing it can take, a round fails to confirm, fills the batch, or the rounds' bounds are
  /// reached (relay.cpp). So a row that
  /// arrives while the relay waits for confirms, or after, no longer waits for the batch's
  /// commit as well (unless it cannot join the batch: a later row of a key the batch holds,
  /// a lower id committed late; see relay.cpp); a confirmed row's delete waits up to the
  /// window. A broker that cannot
  /// be reached in a later round ends the batch with the earlier rounds completed, and
  /// throws PublisherUnavailable.
  BatchResult RunOnce();

  /// Loops until `stop`: RunOnce, again at once while batches are full, otherwise wait for
  /// a wake-up or the poll interval (a helper without a backlog skips RunOnce; a lead records
  /// whether its batch was full in its RelayTeam, and leaves it as it was when a batch fails). Failures are logged once per outage, counted in
  /// paynotify_relay_errors_total by kind (broker: PublisherUnavailable; database:
  /// OutboxUnavailable; internal: anything else, logged at error), and retried after a
  /// capped back-off (broker_reconnect, database_reconnect) waited on the Clock. On stop,
  /// the batch in flight completes (bounded by confirm_timeout, and as much again for each
  /// of its rounds that waits for the team's publish turn) and Run returns. Never throws.
  void Run(std::stop_token stop);

  /// Refreshes the outbox gauges (and LastStats()) now. Throws on database failure.
  /// Run() calls it every stats_interval whether or not the broker is up: a backlog grows
  /// exactly while it is down. While the broker is down it runs once per reconnect attempt,
  /// so a value may be up to max(stats_interval, broker_reconnect.max) old.
  void RefreshStats();
  /// The last successful RefreshStats(), or nullopt before the first one. Thread-safe and
  /// cheap (a copy under a short mutex): for /readyz on the HTTP I/O thread.
  std::optional<OutboxSample> LastStats() const;

  /// Readiness: false after the broker could not be reached or a batch lost its connection,
  /// true again after a successful publish or connect.
  bool BrokerUp() const { return broker_up_.load(); }
  /// Readiness: false after the store reported the database unavailable (OutboxUnavailable),
  /// true again after the next store call that succeeded. Other failures (a permanent SQL
  /// error, a bug) leave it as it was: the database answered.
  bool DatabaseUp() const { return database_up_.load(); }
  /// Rows this relay deleted as confirmed (its share of the team's work; counted once the
  /// deletion committed, unlike paynotify_relay_confirmed_total). Thread-safe.
  uint64_t RowsConfirmed() const { return rows_confirmed_.load(); }

 private:
  amqp::OutgoingMessage ToMessage(const OutboxRecord& record) const;
  /// A failed publish of `record`: park it when its attempts are used up, otherwise back off
  /// (logged here; a park is announced once committed).
  OutboxRetry Failed(const OutboxRecord& record, std::string reason) const;
  /// What a batch's rounds decided, for its one Complete.
  struct Settlement {
    std::vector<int64_t> confirmed;
    std::vector<OutboxRetry> retries;
    std::vector<size_t> failed;  // index in the batch's Records() of retries[i]
  };
  /// Publishes records[from..] and settles each one in `settled`. True when every one was
  /// confirmed. Throws PublisherUnavailable (nothing of the round was published).
  bool PublishRound(const std::vector<OutboxRecord>& records, size_t from, Settlement& settled);
  /// Completes `batch` with `settled`, fills `result` and announces the parked rows.
  void Complete(ClaimedBatch& batch, const Settlement& settled, BatchResult& result);
  /// Runs a store call, keeping database_up_ true to its name.
  template <class F>
  auto StoreCall(F&& call) -> decltype(call());

  RelaySettings settings_;
  OutboxStore& store_;
  Publisher& publisher_;
  WakeSource& wake_;
  const runtime::Clock& clock_;
  RelayRole role_;
  std::atomic<bool> broker_up_{false};
  std::atomic<bool> database_up_{false};
  std::atomic<uint64_t> rows_confirmed_{0};
  mutable std::mutex stats_mutex_;
  std::optional<OutboxSample> last_stats_;  // guarded by stats_mutex_

  metrics::Counter& published_;
  metrics::Counter& confirmed_;
  metrics::Counter& nacked_;
  metrics::Counter& returned_;
  metrics::Counter& unknown_;
  metrics::Counter& parked_;
  metrics::Counter& wake_notify_;
  metrics::Counter& wake_poll_;
  metrics::Counter& broker_errors_;
  metrics::Counter& database_errors_;
  metrics::Counter& internal_errors_;
  metrics::Histogram& confirm_latency_;
  metrics::Counter& extended_;
  metrics::Histogram& batch_size_;
  metrics::Gauge& pending_;
  metrics::Gauge& oldest_age_;
  metrics::Gauge& parked_rows_;
};

}  // namespace paynotify::order

#include "order-service/relay/relay.hpp"

#include <chrono>
#include <exception>
#include <string_view>
#include <type_traits>

#include "common/log/log.hpp"
#include "common/messages/mq_message.hpp"
#include "common/text/escape.hpp"

namespace paynotify::order {

namespace {
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// The bounds of one batch's rounds (see RunOnce): a batch stays open for new rows for
// kExtendAtMost, no round starts after it, so a flow completes a batch about that often
// (plus its last round: a publish and its confirms), and a lone row's delete waits for it.
// That bounds what is published again when the relay dies, how long the claim's row locks
// are held, and how long a row that cannot join the batch waits: a later row of a key the
// batch holds, or a lower id committed late (ClaimMore takes only ids above the batch's).
// When the wake-up brings nothing, the batch completes at once and the row is claimed right
// after (BatchResult::woken), with one exception: the batch's first wake-up is often the
// NOTIFY of a row its own claim took (its transaction committed while the claim ran), and
// ending the batch there would end it as soon as it opened; the next row's NOTIFY could then
// do the same to the next batch. So a first wake-up that brings nothing leaves the batch open
// for the rest of its window; a second one ends it (a stream of rows that cannot join, as when
// the batch holds every key that has rows, must not hold a batch open).
constexpr int kMaxRounds = 16;
constexpr milliseconds kExtendAtMost{50};

std::string FormatDelay(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}
}  // namespace

std::string RetryReason(const PublishResult& result) {
  if (result.outcome == amqp::PublishOutcome::kUnknown) {
    return "unknown: " + (result.detail.empty() ? std::string("no confirm") : result.detail);
  }
  return amqp::ToString(result.outcome);
}

void RelayTeam::SetBacklog(bool backlog) {
  {
    std::lock_guard lock(mutex_);
    backlog_ = backlog;
    if (!backlog) return;
    ++full_batches_;
  }
  full_batch_.notify_all();
}

bool RelayTeam::Backlog() const {
  std::lock_guard lock(mutex_);
  return backlog_;
}

uint64_t RelayTeam::FullBatches() const {
  std::lock_guard lock(mutex_);
  return full_batches_;
}

bool RelayTeam::WaitForFullBatch(uint64_t seen, milliseconds timeout, std::stop_token stop) {
  std::unique_lock lock(mutex_);
  return full_batch_.wait_for(lock, stop, timeout, [&] { return full_batches_ != seen; });
}

bool RelayTeam::Wait(milliseconds timeout) { return WaitForFullBatch(FullBatches(), timeout); }

Relay::Relay(RelaySettings settings, OutboxStore& store, Publisher& publisher, WakeSource& wake,
             const runtime::Clock& clock, metrics::Registry& registry, RelayRole role)
    : settings_(std::move(settings)),
      store_(store),
      publisher_(publisher),
      wake_(wake),
      clock_(clock),
      role_(role),
      published_(registry.GetCounter("paynotify_relay_published_total", "Outbox messages published")),
      confirmed_(registry.GetCounter("paynotify_relay_confirmed_total",
                                     "Published messages the broker confirmed (rows deleted)")),
      nacked_(registry.GetCounter("paynotify_relay_nacked_total", "Published messages the broker nacked")),
      returned_(registry.GetCounter("paynotify_relay_returned_total",
                                    "Published messages returned unroutable (no queue bound)")),
      unknown_(registry.GetCounter("paynotify_relay_unknown_total",
                                   "Published messages without a confirm (connection lost or timeout)")),
      parked_(registry.GetCounter("paynotify_relay_parked_total",
                                  "Outbox rows parked: relay.max-attempts failed publishes, or unencodable")),
      wake_notify_(registry.GetCounter("paynotify_relay_wakeups_total", "Relay wake-ups by cause",
                                       {{"cause", "notify"}})),
      wake_poll_(registry.GetCounter("paynotify_relay_wakeups_total", "Relay wake-ups by cause",
                                     {{"cause", "poll"}})),
      broker_errors_(registry.GetCounter("paynotify_relay_errors_total",
                                         "Relay batches that failed, by what failed", {{"kind", "broker"}})),
      database_errors_(registry.GetCounter("paynotify_relay_errors_total",
                                           "Relay batches that failed, by what failed", {{"kind", "database"}})),
      internal_errors_(registry.GetCounter("paynotify_relay_errors_total",
                                           "Relay batches that failed, by what failed", {{"kind", "internal"}})),
      confirm_latency_(registry.GetHistogram(
          "paynotify_relay_confirm_latency_seconds",
          "Time from publishing a batch to its last confirm (or timeout)",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      extended_(registry.GetCounter("paynotify_relay_batch_extensions_total",
                                    "Rounds added to an open relay batch for rows that arrived while it published")),
      batch_size_(registry.GetHistogram("paynotify_relay_batch_size", "Rows claimed per relay batch (all its rounds)",
                                        {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000})),
      pending_(registry.GetGauge("paynotify_outbox_pending",
                                 "Unparked rows waiting in the outbox (mq_message), due or backing off")),
      oldest_age_(registry.GetGauge("paynotify_outbox_oldest_age_seconds",
                                    "Age of the oldest unparked row in the outbox; 0 when none")),
      parked_rows_(registry.GetGauge("paynotify_outbox_parked_rows",
                                     "Parked outbox rows (no longer retried; an operator must act)")) {}

template <class F>
auto Relay::StoreCall(F&& call) -> decltype(call()) {
  try {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      database_up_ = true;
    } else {
      auto result = call();
      database_up_ = true;
      return result;
    }
  } catch (const OutboxUnavailable&) {
    database_up_ = false;
    throw;
  }
}

amqp::OutgoingMessage Relay::ToMessage(const OutboxRecord& record) const {
  amqp::OutgoingMessage m;
  m.exchange = settings_.exchange;
  m.routing_key = settings_.routing_key;
  m.body = messages::EncodeMqMessage(messages::MqMessage{record.id, record.message_type,
                                                         record.business_key1, record.business_key2,
                                                         record.business_key3});
  m.message_id = record.message_id;
  m.content_type = std::string(messages::kContentType);
  m.type = record.message_type;
  m.app_id = settings_.app_id;
  m.timestamp_s =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch()).count();
  m.persistent = true;
  m.mandatory = true;
  return m;
}

OutboxRetry Relay::Failed(const OutboxRecord& record, std::string reason) const {
  // execute_num counts the failed attempts before this one.
  const int attempts = record.execute_num + 1;
  if (attempts >= settings_.max_attempts) return OutboxRetry{record.id, std::move(reason), milliseconds(0), true};
  const milliseconds delay = runtime::DelayForAttempt(settings_.retry, attempts);
  log::Get(settings_.log_name)
      ->warn("publish {} outbox_id={} message_id={}; attempt {} of {}, will retry in {}", text::Printable(reason),
             record.id, text::Printable(record.message_id), attempts, settings_.max_attempts, FormatDelay(delay));
  return OutboxRetry{record.id, std::move(reason), delay, false};
}

bool Relay::PublishRound(const std::vector<OutboxRecord>& records, size_t from, Settlement& settled) {
  std::vector<amqp::OutgoingMessage> messages;
  std::vector<size_t> sent;  // index in `records` of messages[i]
  messages.reserve(records.size() - from);
  sent.reserve(records.size() - from);
  for (size_t index = from; index < records.size(); ++index) {
    const OutboxRecord& record = records[index];
    try {
      messages.push_back(ToMessage(record));
      sent.push_back(index);
    } catch (const std::exception& e) {
      // A row we cannot encode (e.g. invalid UTF-8 in a business key) will not encode on a
      // retry either: it is parked at once, so it neither spins nor holds back the later rows
      // of its key; an operator fixes the row and puts it back.
      settled.retries.push_back(
          OutboxRetry{record.id, std::string("unencodable: ") + e.what(), milliseconds(0), true});
      settled.failed.push_back(index);
    }
  }

  std::vector<PublishResult> outcomes;
  if (!messages.empty()) {
    std::unique_lock<std::timed_mutex> turn;  // released once every message is sent, or on the way out
    auto started = clock_.Now();
    try {
      if (role_.team != nullptr) {
        publisher_.EnsureConnected();  // a (re)connect does not hold the team's turn
        turn = std::unique_lock(role_.team->PublishTurn(), settings_.confirm_timeout);
        if (!turn.owns_lock()) {
          log::Get(settings_.log_name)
              ->debug("publish turn not free after {}; sending without it", FormatDelay(settings_.confirm_timeout));
        }
        started = clock_.Now();  // the confirm latency does not count the wait for the turn
      }
      outcomes = publisher_.PublishBatch(messages, settings_.confirm_timeout, [&turn]() noexcept {
        if (turn.owns_lock()) turn.unlock();
      });
    } catch (...) {
      broker_up_ = false;  // nothing of this round reached the broker
      throw;
    }
    confirm_latency_.Observe(std::chrono::duration<double>(clock_.Now() - started).count());
    published_.Inc(static_cast<double>(messages.size()));
  }
  // Defensive: a short answer means the rest were never confirmed.
  outcomes.resize(messages.size(), PublishResult{amqp::PublishOutcome::kUnknown, "no outcome reported"});

  bool all_confirmed = true;
  bool lost_connection = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const OutboxRecord& record = records[sent[i]];
    const PublishResult& outcome = outcomes[i];
    switch (outcome.outcome) {
      case amqp::PublishOutcome::kConfirmed:
        settled.confirmed.push_back(record.id);
        confirmed_.Inc();
        continue;
      case amqp::PublishOutcome::kNacked:
        nacked_.Inc();
        break;
      case amqp::PublishOutcome::kReturned:
        returned_.Inc();
        break;
      case amqp::PublishOutcome::kUnknown:
        unknown_.Inc();
        lost_connection = true;
        break;
    }
    all_confirmed = false;
    settled.retries.push_back(Failed(record, RetryReason(outcome)));
    settled.failed.push_back(sent[i]);
  }
  broker_up_ = !lost_connection;
  return all_confirmed;
}

BatchResult Relay::RunOnce() {
  auto logger = log::Get(settings_.log_name);
  std::unique_ptr<ClaimedBatch> batch = StoreCall([&] { return store_.Claim(settings_.batch_size); });
  const std::vector<OutboxRecord>& records = batch->Records();  // grows with each round
  BatchResult result;
  if (records.empty()) return result;
  const auto claimed_at = clock_.Now();

  // Rounds: publish what is claimed; then, while rows keep arriving (a NOTIFY came during the
  // round, or comes while the batch is open) and the broker confirmed everything, claim them
  // into this same transaction and publish them at once, instead of first deleting this batch
  // and committing (a WAL flush, ~1.2 ms at 400/s, during which a new row would wait:
  // bench/RESULTS.md 15 and 16). The batch then completes once, for all its rounds. Bounded,
  // so a flow still commits regularly: every confirmed row of an open batch is published
  // again if the relay dies.
  Settlement settled;
  size_t from = 0;
  for (int round = 1;; ++round) {
    bool all_confirmed = false;
    try {
      all_confirmed = PublishRound(records, from, settled);
    } catch (const PublisherUnavailable&) {
      if (round == 1) throw;  // nothing published: the batch rolls back on the way out
      // This round reached nothing; the earlier ones were confirmed: keep them. (A broker
      // lost between rounds: the round's PublishBatch reconnects, within this transaction.)
      batch_size_.Observe(static_cast<double>(from));
      Complete(*batch, settled, result);
      throw;
    }
    from = records.size();
    const auto open_for = clock_.Now() - claimed_at;
    if (!all_confirmed || records.size() >= settings_.batch_size || round >= kMaxRounds ||
        open_for >= kExtendAtMost) {
      break;
    }
    // The batch stays open for the rest of its window: a row that arrives meanwhile is
    // claimed and published at once, instead of waiting for this batch's delete and commit
    // (~1.2 ms, a WAL flush) as it would if the batch completed now. The delete of confirmed
    // rows is on the path only of the rows that cannot join the batch (see kExtendAtMost),
    // which are rare: the intake commits one group at a time, and a key (an order) gets one
    // message per payment. A steady flow gets one commit per window instead of one per row
    // or two, which saves the database CPU (bench/RESULTS.md 16).
    if (!wake_.Pending(duration_cast<milliseconds>(kExtendAtMost - open_for))) break;
    // The wake-up is taken here. A row it announced that ClaimMore cannot take (a lower id
    // committed late, a later row of a key this batch holds) is claimed right after this
    // batch completes, as if the wake-up had come then (Run does not wait). When the batch's
    // first wake-up brings nothing (or the store declined: PgOutboxStore after a slow claim),
    // the next round publishes nothing and the batch waits on (see kExtendAtMost).
    const bool first_wake = !result.woken;
    result.woken = true;
    const size_t added = StoreCall([&] { return batch->ClaimMore(settings_.batch_size - records.size()); });
    if (added == 0 && !first_wake) break;
    if (added > 0) extended_.Inc();
  }
  batch_size_.Observe(static_cast<double>(records.size()));
  Complete(*batch, settled, result);
  logger->debug("batch done claimed={} confirmed={} retried={} parked={}", result.claimed,
                result.confirmed, result.retried, result.parked);
  return result;
}

void Relay::Complete(ClaimedBatch& batch, const Settlement& settled, BatchResult& result) {
  StoreCall([&] { batch.Complete(settled.confirmed, settled.retries); });
  const std::vector<OutboxRecord>& records = batch.Records();
  result.claimed = records.size();
  result.confirmed = settled.confirmed.size();
  rows_confirmed_ += settled.confirmed.size();
  // Announced once parked for real (committed): a failed Complete leaves the rows as they were.
  for (size_t i = 0; i < settled.retries.size(); ++i) {
    if (!settled.retries[i].park) {
      ++result.retried;
      continue;
    }
    ++result.parked;
    parked_.Inc();
    const OutboxRecord& record = records[settled.failed[i]];
    log::Get(settings_.log_name)
        ->warn("outbox row parked outbox_id={} message_id={} attempts={} last_error={}; no further "
               "attempts until an operator puts it back",
               record.id, text::Printable(record.message_id), record.execute_num + 1,
               text::Printable(settled.retries[i].reason));
  }
}

void Relay::RefreshStats() {
  const OutboxStats stats = StoreCall([&] { return store_.Stats(); });
  pending_.Set(static_cast<double>(stats.pending));
  oldest_age_.Set(std::chrono::duration<double>(stats.oldest_age).count());
  parked_rows_.Set(static_cast<double>(stats.parked));
  std::lock_guard lock(stats_mutex_);
  last_stats_ = OutboxSample{stats, clock_.Now()};
}

std::optional<OutboxSample> Relay::LastStats() const {
  std::lock_guard lock(stats_mutex_);
  return last_stats_;
}

void Relay::Run(std::stop_token stop) {
  auto logger = log::Get(settings_.log_name);
  // One back-off per cause: a broker outage and a database outage recover independently,
  // and each follows its own reconnect policy.
  runtime::Backoff broker_backoff(settings_.broker_reconnect);
  runtime::Backoff database_backoff(settings_.database_reconnect);
  auto next_stats = clock_.Now();
  const bool helper = role_.team != nullptr && role_.helper;
  const bool lead = role_.team != nullptr && !role_.helper;
  logger->info("started exchange={} batch_size={} poll_interval={}ms{}", settings_.exchange,
               settings_.batch_size, settings_.poll_interval.count(),
               helper ? " (helper: claims only while the lead's batches come back full)" : "");
  // Logs a failure (warn for the first of an outage, debug for the retries that follow: the
  // counter keeps score; error for a failure that is not an outage), counts it and waits.
  const auto fail = [&](runtime::Backoff& backoff, metrics::Counter& counter, bool outage,
                        std::string_view what, std::string_view error, std::string_view consequence) {
    // A lead that cannot relay does not leave its helpers claiming on a stale report.
    if (lead) role_.team->SetBacklog(false);
    counter.Inc();
    const auto level = !outage                   ? spdlog::level::err
                       : backoff.Attempts() == 0 ? spdlog::level::warn
                                                 : spdlog::level::debug;
    const milliseconds delay = backoff.Next();
    logger->log(level, "{}: {}; {}; will retry in {}", what, error, consequence, FormatDelay(delay));
    clock_.SleepFor(delay, stop);
  };
  // The gauges are refreshed every stats_interval after a batch (a failure there is the
  // batch's), and also while the broker is down, when the backlog grows and they matter most:
  // a failure then is the database's, logged at debug (the next batch reports and counts it).
  const auto refresh_stats_while_broker_down = [&] {
    if (helper || clock_.Now() < next_stats) return;
    next_stats = clock_.Now() + settings_.stats_interval;
    try {
      RefreshStats();
    } catch (const std::exception& e) {
      logger->debug("outbox stats not refreshed: {}", text::Printable(e.what()));
    }
  };
  while (!stop.stop_requested()) {
    // Read before the batch: a full batch the lead reports while ours runs is not missed.
    const uint64_t full_batches_seen = helper ? role_.team->FullBatches() : 0;
    if (helper && !role_.team->Backlog()) {
      // Nothing to help with: no claim, no connection attempt, no error counted. Heartbeats
      // of a connection left open by the last backlog are answered; the lead's next full
      // batch wakes this thread at once.
      publisher_.Maintain();
      role_.team->WaitForFullBatch(full_batches_seen, settings_.poll_interval, stop);
      continue;
    }
    bool batch_full = false;
    bool claim_again = false;
    try {
      if (!publisher_.Maintain()) {
        // Connect (and declare the topology) before claiming: readiness is true before the
        // first message, a broker that went away shows up at once even while idle, and
        // rows are not claimed just to be rolled back.
        publisher_.EnsureConnected();
      }
      // Also when the connection was handed over already open (OrderService::Connect at
      // start-up): readiness must not wait for the first message.
      broker_up_ = true;
      const BatchResult result = RunOnce();
      batch_full = result.claimed >= settings_.batch_size;
      claim_again = result.woken;
      if (lead) role_.team->SetBacklog(batch_full);
      if (broker_backoff.Attempts() > 0 || database_backoff.Attempts() > 0) {
        logger->info("recovered; publishing again");
      }
      broker_backoff.Reset();
      database_backoff.Reset();
      if (!helper && clock_.Now() >= next_stats) {
        next_stats = clock_.Now() + settings_.stats_interval;
        RefreshStats();
      }
    } catch (const PublisherUnavailable& e) {
      broker_up_ = false;
      refresh_stats_while_broker_down();
      fail(broker_backoff, broker_errors_, true, "broker unavailable", e.what(), "rows stay in the outbox");
      continue;
    } catch (const OutboxUnavailable& e) {
      fail(database_backoff, database_errors_, true, "database unavailable", e.what(),
           "unconfirmed rows stay in the outbox");
      continue;
    } catch (const std::exception& e) {
      // Not an outage: a permanent database error (schema mismatch) or a bug. Backed off
      // like an outage so it cannot spin, but logged as an error every time.
      fail(database_backoff, internal_errors_, false, "batch failed", e.what(),
           "unconfirmed rows stay in the outbox");
      continue;
    }
    if (batch_full || stop.stop_requested()) continue;
    if (claim_again) {
      wake_notify_.Inc();
      continue;
    }
    if (helper) {
      // Its batch was not full: the backlog is nearly gone. Claim again only when the lead
      // reports another full batch (not on a report that is merely not yet updated).
      role_.team->WaitForFullBatch(full_batches_seen, settings_.poll_interval, stop);
      continue;
    }
    if (wake_.Wait(settings_.poll_interval)) {
      wake_notify_.Inc();
    } else {
      wake_poll_.Inc();
    }
  }
  logger->info("stopped");
}

}  // namespace paynotify::order

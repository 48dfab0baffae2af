#pragma once
/// The outbox relay core: claim due outbox rows, publish them with confirms, delete what the
/// broker confirmed, schedule the rest for another attempt. Ports only (OutboxStore,
/// Publisher, WakeSource, Clock), so it is unit-tested against fakes.
///
/// Guarantees: a row is deleted only after a broker confirm that was not preceded by a
/// return. A row is published at least once; it is published again when the relay dies or
/// its completing transaction fails after publishing (consumers dedupe by message_id).
#include <atomic>
#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>

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
};

struct RelaySettings {
  std::string exchange;                          ///< default messages::kExchange (tests use their own)
  std::string routing_key;                       ///< "" for the fanout exchange
  size_t batch_size = 500;                       ///< relay.batch-size
  std::chrono::milliseconds poll_interval{250};  ///< relay.poll-interval
  std::chrono::milliseconds confirm_timeout{10000};  ///< relay.confirm-timeout
  /// Per-row back-off after a failed attempt (relay.retry.*), by execute_num after the attempt.
  runtime::BackoffPolicy retry{std::chrono::milliseconds(1000), 2.0, std::chrono::milliseconds(60000)};
  /// The relay's own back-off when the broker or the database is down.
  runtime::BackoffPolicy reconnect{std::chrono::milliseconds(500), 2.0, std::chrono::milliseconds(10000)};
  /// How often the outbox gauges are refreshed (one cheap query).
  std::chrono::milliseconds stats_interval{5000};
  std::string app_id = "order-service";
};

/// One RunOnce() pass.
struct BatchResult {
  size_t claimed = 0;
  size_t confirmed = 0;
  size_t retried = 0;
};

/// The retry reason written to returnfailure_msg for a publish result.
std::string RetryReason(const PublishResult& result);

/// Run() on one thread (its own jthread); BrokerUp()/DatabaseUp() from any thread.
class Relay {
 public:
  /// Every reference must outlive the relay.
  Relay(RelaySettings settings, OutboxStore& store, Publisher& publisher, WakeSource& wake,
        const runtime::Clock& clock, metrics::Registry& registry);

  /// One batch: claim, publish, complete. Throws PublisherUnavailable (nothing published,
  /// claim rolled back) or the store's exception (claim rolled back; if it happened after
  /// publishing, those rows are published again later).
  BatchResult RunOnce();

  /// Loops until `stop`: RunOnce, again at once while batches are full, otherwise wait for
  /// a wake-up or the poll interval. Failures are logged once, counted, and retried after a
  /// capped back-off. On stop, the batch in flight completes (bounded by confirm_timeout)
  /// and Run returns. Never throws.
  void Run(std::stop_token stop);

  /// Refreshes the outbox gauges now. Throws on database failure.
  void RefreshStats();

  /// Readiness: false after the broker could not be reached or a batch lost its connection,
  /// true again after a successful publish or connect.
  bool BrokerUp() const { return broker_up_.load(); }
  bool DatabaseUp() const { return database_up_.load(); }

 private:
  OutgoingMessage ToMessage(const OutboxRecord& record) const;

  RelaySettings settings_;
  OutboxStore& store_;
  Publisher& publisher_;
  WakeSource& wake_;
  const runtime::Clock& clock_;
  std::atomic<bool> broker_up_{false};
  std::atomic<bool> database_up_{false};

  metrics::Counter& published_;
  metrics::Counter& confirmed_;
  metrics::Counter& nacked_;
  metrics::Counter& returned_;
  metrics::Counter& unknown_;
  metrics::Counter& wake_notify_;
  metrics::Counter& wake_poll_;
  metrics::Counter& broker_errors_;
  metrics::Counter& database_errors_;
  metrics::Histogram& confirm_latency_;
  metrics::Histogram& batch_size_;
  metrics::Gauge& pending_;
  metrics::Gauge& oldest_age_;
};

}  // namespace paynotify::order

#pragma once
/// Assembles order-service from its config: intake (HTTP + PgOrderStore) and the outbox
/// relay workers (relay.workers: each its own thread, PG and AMQP connections). Shared by
/// main.cpp and the integration tests, so both run exactly the same wiring.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/daemon/daemon.hpp"
#include "common/http/bearer_auth.hpp"
#include "common/http/server.hpp"
#include "common/metrics/registry.hpp"
#include "common/retention/pg_batch_deleter.hpp"
#include "common/retention/retention_loop.hpp"
#include "common/runtime/clock.hpp"
#include "order-service/app/order_config.hpp"
#include "order-service/intake/intake.hpp"
#include "order-service/intake/pg_order_store.hpp"
#include "order-service/outbox/pg_outbox_store.hpp"
#include "order-service/relay/amqp_publisher.hpp"
#include "order-service/relay/pg_wake_source.hpp"
#include "order-service/relay/relay.hpp"

namespace paynotify::order {

/// The "flow" detail of order-service's /readyz: {"outbox_pending",
/// "outbox_oldest_pending_age_seconds", "outbox_parked", "outbox_sampled_seconds_ago"}, as of
/// the relay's last sample (`sample`); every field null before the first one (unknown is not 0).
nlohmann::ordered_json OutboxFlowJson(const std::optional<OutboxSample>& sample,
                                      std::chrono::steady_clock::time_point now);

struct OrderServiceOptions {
  bool run_http = true;   ///< integration tests may run a relay alone
  bool run_relay = true;  ///< ... or the intake alone
};

/// Lifecycle (see daemon::Component): construct (no network I/O except the LISTEN
/// connection's first attempt) -> Connect() -> Start() -> Stop(). Not copyable;
/// Connect/Start/Stop from one thread (main).
class OrderService final : public daemon::Component {
 public:
  OrderService(OrderServiceConfig config, OrderServiceOptions options = {},
               const runtime::Clock& clock = runtime::SystemClock::Instance());
  ~OrderService() override;  // Stop()

  /// One probe of each server, never a wait: order-service serves while the broker or the
  /// database is down (the outbox is the buffer; the order store answers 503 until the
  /// database is back; the relay reconnects with back-off on its own thread). But a server
  /// that REFUSES us will not heal: a refused AMQP login or a topology mismatch
  /// (non-retryable amqp::AmqpError) and a refused database login (pg::LoginRefused) are
  /// thrown, so the daemon exits 1 as learning-service does. Unreachable servers are logged.
  void Connect() override;
  /// Starts the relay threads and the history retention thread, then both HTTP listeners last
  /// (throws if an address cannot be bound).
  void Start() override;
  /// Graceful stop, in order: readiness false + new requests 503 -> HTTP stops, both
  /// listeners (in-flight
  /// requests finish) -> each relay worker finishes its batch (bounded by relay.confirm-timeout) and
  /// the history retention its statement ->
  /// AMQP closed -> PostgreSQL connections closed. Idempotent, never throws.
  void Stop() noexcept override;

  /// The public listener's port (POST /orders/paynotify, /healthz).
  int Port() const { return http_ ? http_->Port() : 0; }
  /// The internal listener's port (order API with bearer token, /readyz, /metrics).
  int InternalPort() const { return internal_http_ ? internal_http_->Port() : 0; }
  metrics::Registry& Metrics() { return registry_; }
  /// The lead relay worker (nullptr without a relay); relay_worker(i) each of relay_workers().
  Relay* relay() { return relays_.empty() ? nullptr : relays_.front().relay.get(); }
  Relay* relay_worker(size_t i) { return i < relays_.size() ? relays_[i].relay.get() : nullptr; }
  size_t relay_workers() const { return relays_.size(); }

 private:
  OrderServiceConfig config_;
  OrderServiceOptions options_;
  const runtime::Clock& clock_;
  metrics::Registry registry_;
  // Intake side (HTTP worker threads).
  std::unique_ptr<PgOrderStore> order_store_;
  std::unique_ptr<OrderIntake> intake_;
  std::unique_ptr<http::BearerAuth> api_auth_;
  std::unique_ptr<http::Server> http_;           // public: the payment platform
  std::unique_ptr<http::Server> internal_http_;  // internal: order API, probes, metrics
  // Relay side: relay.workers of these, each used only on its own thread once started.
  struct RelayWorker {
    std::unique_ptr<PgOutboxStore> store;
    std::unique_ptr<AmqpPublisher> publisher;
    std::unique_ptr<PgWakeSource> wake;  // the lead's LISTEN; helpers are woken by the team
    std::unique_ptr<Relay> relay;
    std::jthread thread;
  };
  RelayTeam relay_team_;  // before relays_: the workers point at it
  std::vector<RelayWorker> relays_;
  // History retention (with the relay, which fills the history): its own connection and
  // thread, so deleting never waits for or holds up the relay.
  std::unique_ptr<retention::PgBatchDeleter> history_deleter_;
  std::unique_ptr<retention::RetentionMetrics> retention_metrics_;
  std::unique_ptr<retention::RetentionLoop> retention_;
  std::jthread retention_thread_;
  bool stopped_ = false;
};

}  // namespace paynotify::order

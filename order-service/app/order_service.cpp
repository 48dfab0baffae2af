#include "order-service/app/order_service.hpp"

#include <algorithm>

#include "common/log/log.hpp"
#include "common/pg/errors.hpp"
#include "order-service/intake/http_routes.hpp"
#include "order-service/outbox/history_retention.hpp"

namespace paynotify::order {

nlohmann::ordered_json OutboxFlowJson(const std::optional<OutboxSample>& sample,
                                      std::chrono::steady_clock::time_point now) {
  nlohmann::ordered_json flow = nlohmann::ordered_json::object();
  const auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  if (!sample) {
    flow["outbox_pending"] = nullptr;
    flow["outbox_oldest_pending_age_seconds"] = nullptr;
    flow["outbox_parked"] = nullptr;
    flow["outbox_sampled_seconds_ago"] = nullptr;
    return flow;
  }
  flow["outbox_pending"] = sample->stats.pending;
  flow["outbox_oldest_pending_age_seconds"] = seconds(sample->stats.oldest_age);
  flow["outbox_parked"] = sample->stats.parked;
  flow["outbox_sampled_seconds_ago"] = std::max(0.0, seconds(now - sample->sampled_at));
  return flow;
}

OrderService::OrderService(OrderServiceConfig config, OrderServiceOptions options,
                           const runtime::Clock& clock)
    : config_(std::move(config)), options_(options), clock_(clock) {
  if (options_.run_http) {
    order_store_ = std::make_unique<PgOrderStore>(config_.database,
                                                  static_cast<size_t>(config_.database_pool_size),
                                                  config_.relay.notify_channel);
    IntakeSettings intake;
    intake.app_id = config_.alipay.app_id;
    intake.max_batch = config_.intake_max_batch;
    intake.max_batches_in_flight = config_.intake_max_batches_in_flight;
    intake_ = std::make_unique<OrderIntake>(std::move(intake), *order_store_,
                                            config_.alipay.verify_signature ? config_.alipay.verifier
                                                                            : std::nullopt,
                                            registry_);
    api_auth_ = std::make_unique<http::BearerAuth>(config_.api_tokens);
    http_ = std::make_unique<http::Server>(config_.server, registry_);
    RegisterNotifyRoutes(*http_, *intake_);
    internal_http_ = std::make_unique<http::Server>(config_.internal_server, registry_);
    RegisterOrderApiRoutes(*internal_http_, *intake_, *api_auth_);
  }
  if (options_.run_relay) {
    relays_.resize(std::max<size_t>(1, config_.relay.workers));
    for (size_t i = 0; i < relays_.size(); ++i) {
      // The first worker keeps the names a single relay always had; the others are numbered.
      const std::string suffix = i == 0 ? "" : "-" + std::to_string(i + 1);
      pg::PgSettings relay_db = config_.database;
      relay_db.application_name = config_.database.application_name + "-relay" + suffix;
      amqp::BrokerSettings broker = config_.rabbitmq;
      if (i > 0) broker.connection_name += " " + std::to_string(i + 1);
      RelaySettings settings = config_.relay.core;
      settings.log_name = "relay" + suffix;
      RelayWorker& worker = relays_[i];
      worker.store = std::make_unique<PgOutboxStore>(relay_db, config_.relay.keep_history);
      worker.publisher = std::make_unique<AmqpPublisher>(std::move(broker), config_.relay.confirm_window,
                                                         config_.relay.core.exchange);
      // One registry: the workers share every relay metric (their counts add up). With more
      // than one, the first leads and the others help only with a backlog (RelayTeam), woken
      // by the lead rather than by every NOTIFY.
      const bool helper = i > 0;
      if (!helper) worker.wake = std::make_unique<PgWakeSource>(relay_db, config_.relay.notify_channel);
      WakeSource& wake = helper ? static_cast<WakeSource&>(relay_team_) : *worker.wake;
      const RelayRole role = relays_.size() > 1 ? RelayRole{&relay_team_, helper} : RelayRole{};
      worker.relay = std::make_unique<Relay>(std::move(settings), *worker.store, *worker.publisher, wake,
                                             clock_, registry_, role);
    }
    // Also while relay.keep-history is off: rows kept before it was turned off still expire, and
    // an idle pass is one index probe per retention.idle-interval.
    pg::PgSettings retention_db = config_.database;
    retention_db.application_name = config_.database.application_name + "-retention";
    history_deleter_ = std::make_unique<retention::PgBatchDeleter>(retention_db, std::string(kDeleteExpiredHistory));
    retention_metrics_ = std::make_unique<retention::RetentionMetrics>(registry_, "mq_message_history");
    retention_ = std::make_unique<retention::RetentionLoop>("mq_message_history", *history_deleter_,
                                                            config_.relay.history_retention,
                                                            *retention_metrics_, clock_);
  }
  if (internal_http_) {
    // Cheap, non-blocking: flags the lead relay keeps current every poll interval. Helpers
    // connect only while they help (RelayTeam): their state says nothing about readiness.
    Relay* lead = relay();
    PgOutboxStore* outbox = relays_.empty() ? nullptr : relays_.front().store.get();
    internal_http_->AddReadinessCheck("database", [lead, outbox] {
      return lead == nullptr || (lead->DatabaseUp() && outbox->IsConnected());
    });
    internal_http_->AddReadinessCheck("broker", [lead] { return lead == nullptr || lead->BrokerUp(); });
    // What waits in the outbox, as the lead relay last sampled it (never a query per request:
    // this runs on the I/O thread). Informative only: a backlog never makes us unready, the
    // outbox is the buffer that lets intake go on while the broker is away.
    internal_http_->AddReadinessDetail("flow", [lead, &clock = clock_] {
      return OutboxFlowJson(lead ? lead->LastStats() : std::nullopt, clock.Now());
    });
  }
}

OrderService::~OrderService() { Stop(); }

void OrderService::Connect() {
  // Runs on the main thread before Start(): the relay thread, started after it, is the only
  // user of these connections from then on (a hand-over, never shared).
  auto logger = log::Get("order-service");
  // The lead's connections only: helpers connect when they first help.
  if (!relays_.empty()) {
    RelayWorker& lead = relays_.front();
    try {
      lead.publisher->Connect();
    } catch (const std::exception& e) {
      if (!daemon::IsTransient(e)) throw;
      logger->warn("start: broker not reachable ({}); serving anyway, the relay keeps trying",
                   e.what());
    }
    try {
      lead.store->Connect();
    } catch (const std::exception& e) {
      if (!daemon::IsTransient(e)) throw;
      logger->warn("start: database not reachable ({}); serving anyway (503 until it is back)",
                   pg::Describe(e));
    }
  }
}

void OrderService::Start() {
  if (options_.run_http && !config_.alipay.verify_signature) {
    log::Get("order-service")
        ->warn("alipay.verify-signature is false: payment notifications are NOT authenticated; "
               "anyone who can reach this port can mark orders paid. Local demos only.");
  }
  for (RelayWorker& worker : relays_) {
    worker.thread = std::jthread([relay = worker.relay.get()](std::stop_token stop) { relay->Run(stop); });
  }
  if (retention_) {
    retention_thread_ =
        std::jthread([retention = retention_.get()](std::stop_token stop) { retention->Run(stop); });
  }
  if (http_) {
    internal_http_->Start();
    http_->Start();
    log::Get("order-service")
        ->info("listening public={}:{} internal={}:{}", config_.server.host, http_->Port(),
               config_.internal_server.host, internal_http_->Port());
  }
}

void OrderService::Stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  auto logger = log::Get("order-service");
  if (http_) {
    http_->BeginDrain();
    internal_http_->BeginDrain();
    http_->Stop();  // in-flight notifications finish (their transactions commit or roll back)
    internal_http_->Stop();
  }
  retention_thread_.request_stop();  // winds down beside the relay: nothing to drain
  // All asked first, so the workers' batches in flight complete side by side, each bounded by
  // relay.confirm-timeout.
  for (RelayWorker& worker : relays_) worker.thread.request_stop();
  for (RelayWorker& worker : relays_) {
    if (worker.thread.joinable()) worker.thread.join();
  }
  if (retention_thread_.joinable()) {
    retention_thread_.join();  // at most the statement in flight
  }
  if (history_deleter_) history_deleter_->Close();
  for (RelayWorker& worker : relays_) {
    worker.publisher->Close();
    worker.wake.reset();
    worker.store.reset();
  }
  internal_http_.reset();
  http_.reset();
  intake_.reset();
  order_store_.reset();
  logger->info("stopped");
}

}  // namespace paynotify::order

#include "learning-service/app/learning_service.hpp"

#include <algorithm>

#include "common/log/log.hpp"
#include "learning-service/app/http_routes.hpp"
#include "learning-service/enrollment/inbox_retention.hpp"

namespace paynotify::learning {
namespace {

// Pausing for a database outage uses the database reconnect back-off, capped at half the
// AMQP heartbeat, so a database that is back is noticed within that time. While paused the
// consumer thread makes no AMQP calls and rabbitmq-c answers heartbeats only inside calls, so
// an outage longer than about two heartbeats still costs the broker connection: the held
// delivery is then redelivered (and deduplicated by the inbox) and the loop reconnects -
// harmless, and logged once as a broker loss.
runtime::BackoffPolicy PausePolicy(const LearningSettings& s) {
  runtime::BackoffPolicy p = s.database.reconnect;
  if (s.broker.heartbeat_s > 0) {
    p.max = std::min(p.max, std::chrono::milliseconds(s.broker.heartbeat_s * 1000 / 2));
    p.initial = std::min(p.initial, p.max);
  }
  return p;
}

}  // namespace

LearningService::LearningService(LearningSettings settings, const runtime::Clock& clock)
    : LearningService(std::move(settings), nullptr, clock) {}

LearningService::LearningService(LearningSettings settings, metrics::Registry& registry,
                                 const runtime::Clock& clock)
    : LearningService(std::move(settings), &registry, clock) {}

LearningService::LearningService(LearningSettings settings, metrics::Registry* registry,
                                 const runtime::Clock& clock)
    : settings_(std::move(settings)),
      own_registry_(registry ? nullptr : std::make_unique<metrics::Registry>()),
      registry_(registry ? *registry : *own_registry_),
      // The loop's metrics keep the names dashboards, README and the e2e harness know.
      loop_metrics_(registry_, "paynotify_learning"),
      metrics_(registry_),
      repository_(settings_.database),
      reader_([&] {
        pg::PgSettings s = settings_.database;
        s.application_name += "-api";
        return s;
      }()),
      source_(settings_.broker, settings_.topology.queue, settings_.prefetch),
      publisher_(settings_.broker, settings_.confirm_timeout),
      handler_(repository_, metrics_, settings_.topology.retry, PausePolicy(settings_), clock,
               settings_.max_body_bytes),
      loop_(source_, publisher_, handler_, settings_.topology, loop_metrics_, clock,
            consumer::ConsumerLoopSettings{settings_.poll_interval, settings_.broker.reconnect,
                                 std::min<size_t>(settings_.batch_size, settings_.prefetch)}),
      inbox_deleter_(
          [&] {
            pg::PgSettings s = settings_.database;
            s.application_name += "-retention";
            return s;
          }(),
          std::string(kDeleteExpiredInbox)),
      retention_metrics_(registry_, "processed_message"),
      retention_("processed_message", inbox_deleter_, settings_.inbox_retention, retention_metrics_, clock) {}

LearningService::~LearningService() { Stop(); }

void LearningService::DeclareTopology() {
  consumer::DeclareConsumerTopology(settings_.broker, settings_.topology, "consumer.*, rabbitmq.listener.retry.*");
}

void LearningService::ConnectDatabase() { repository_.Connect(); }

void LearningService::Connect() {
  DeclareTopology();
  ConnectDatabase();
}

void LearningService::Start() {
  worker_ = std::jthread([this](std::stop_token stop) { loop_.Run(stop); });
  retention_worker_ = std::jthread([this](std::stop_token stop) { retention_.Run(stop); });
  http_ = std::make_unique<http::Server>(settings_.server, registry_);
  RegisterRoutes(*http_, reader_);
  http_->AddReadinessCheck("broker", [this] { return BrokerConnected(); });
  http_->AddReadinessCheck("database", [this] { return DatabaseAvailable(); });
  http_->Start();
  log::Get("learning")->info("ready: http on {}:{}, consuming queue {}", settings_.server.host, http_->Port(),
                             settings_.topology.queue);
}

void LearningService::Stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  try {
    if (http_) {
      http_->BeginDrain();  // readiness false first, so traffic moves away
      http_->Stop();        // requests in flight finish
    }
    retention_worker_.request_stop();  // winds down beside the consumer: nothing to drain
    if (worker_.joinable()) {
      worker_.request_stop();
      worker_.join();  // the in-flight delivery is finished and settled first
    }
    if (retention_worker_.joinable()) {
      retention_worker_.join();  // at most the batch in flight (one short statement)
    }
    inbox_deleter_.Close();
    // The worker is gone: its single-thread AMQP objects may be closed from here.
    source_.Close();
    publisher_.Close();
    repository_.Close();
    reader_.Close();
    log::Get("learning")->info("consumer stopped; AMQP and database connections closed");
  } catch (const std::exception& e) {
    log::Get("learning")->error("error while stopping: {}", e.what());
  }
}

}  // namespace paynotify::learning

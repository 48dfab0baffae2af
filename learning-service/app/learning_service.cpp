#include "learning-service/app/learning_service.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

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

// The queue-depth probe's connection: named apart in the management UI, and without
// heartbeats, because it is used only once per sample interval (which may exceed heartbeat/2);
// each call is bounded by the RPC timeout, so a dead connection shows at the next sample.
amqp::BrokerSettings ProbeBroker(amqp::BrokerSettings s) {
  s.connection_name = (s.connection_name.empty() ? std::string("learning-service") : s.connection_name) + "-depth";
  s.heartbeat_s = 0;
  return s;
}

}  // namespace

nlohmann::ordered_json LearningFlowJson(const LearningFlow& flow, std::chrono::steady_clock::time_point now) {
  const auto count = [](const consumer::QueueSample& s) -> nlohmann::ordered_json {
    if (!s.messages) return nullptr;
    return *s.messages;
  };
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  json["queue"] = flow.queue;
  json["queue_messages"] = count(flow.queue_messages);
  json["dead_letter_queue_messages"] = count(flow.dead_letter_messages);
  if (flow.queue_messages.sampled_at) {
    json["queue_sampled_seconds_ago"] =
        std::max(0.0, std::chrono::duration<double>(now - *flow.queue_messages.sampled_at).count());
  } else {
    json["queue_sampled_seconds_ago"] = nullptr;
  }
  json["dead_lettered_last_hour"] = flow.dead_lettered_last_hour;
  if (flow.last_applied) {
    const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(*flow.last_applied);
    const std::time_t seconds = std::chrono::system_clock::to_time_t(ms);
    json["last_applied_at"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(seconds),
                                          static_cast<int>(ms.time_since_epoch().count() % 1000));
  } else {
    json["last_applied_at"] = nullptr;
  }
  return json;
}

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
      metrics_(registry_, clock),
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
      dead_lettered_last_hour_(clock, std::chrono::hours(1), 60),
      queue_probe_(ProbeBroker(settings_.broker)),
      queue_sampler_(queue_probe_,
                     {{kMainQueueLabel, settings_.topology.queue},
                      {kDeadLetterQueueLabel, settings_.topology.dead_letter_queue}},
                     settings_.queue_sample_interval, registry_, "paynotify_learning_queue_messages", clock),
      clock_(clock),
      inbox_deleter_(
          [&] {
            pg::PgSettings s = settings_.database;
            s.application_name += "-retention";
            return s;
          }(),
          std::string(kDeleteExpiredInbox)),
      retention_metrics_(registry_, "processed_message"),
      retention_("processed_message", inbox_deleter_, settings_.inbox_retention, retention_metrics_, clock) {
  loop_metrics_.CountDeadLettersIn(dead_lettered_last_hour_);
  loop_metrics_.DeclareDeadLetterReasons(handler_.DeadLetterReasons());
}

LearningFlow LearningService::Flow() const {
  return LearningFlow{settings_.topology.queue, queue_sampler_.Last(kMainQueueLabel),
                      queue_sampler_.Last(kDeadLetterQueueLabel), dead_lettered_last_hour_.Sum(),
                      metrics_.LastApplied()};
}

LearningService::~LearningService() { Stop(); }

void LearningService::DeclareTopology() {
  consumer::DeclareConsumerTopology(settings_.broker, settings_.topology, "consumer.*, rabbitmq.listener.retry.*",
                                    "consumer.queue-type");
}

void LearningService::ConnectDatabase() { repository_.Connect(); }

void LearningService::Connect() {
  DeclareTopology();
  ConnectDatabase();
}

void LearningService::Start() {
  worker_ = std::jthread([this](std::stop_token stop) { loop_.Run(stop); });
  // Its own thread and connection: a passive declare never waits inside the consumer loop.
  sampler_ = std::jthread([this](std::stop_token stop) { queue_sampler_.Run(stop); });
  retention_worker_ = std::jthread([this](std::stop_token stop) { retention_.Run(stop); });
  http_ = std::make_unique<http::Server>(settings_.server, registry_);
  RegisterRoutes(*http_, reader_);
  http_->AddReadinessCheck("broker", [this] { return BrokerConnected(); });
  http_->AddReadinessCheck("database", [this] { return DatabaseAvailable(); });
  // Informative only: messages waiting never make the service unready.
  http_->AddReadinessDetail("flow", [this] { return LearningFlowJson(Flow(), clock_.Now()); });
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
    if (sampler_.joinable()) {
      sampler_.request_stop();
      sampler_.join();  // at most one passive declare in flight (bounded by the rpc timeout)
    }
    // The worker and the sampler are gone: their single-thread AMQP objects may be closed here.
    queue_probe_.Close();
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

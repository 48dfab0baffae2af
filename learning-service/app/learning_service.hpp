#pragma once
/// learning-service assembled: repository, AMQP adapters, handler (the policy) and
/// common/consumer's loop (the mechanism) on its own thread, and the HTTP query API with its
/// probes. main.cpp (through the daemon skeleton) and the integration tests build it the same
/// way.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/consumer/amqp_adapters.hpp"
#include "common/consumer/amqp_queue_probe.hpp"
#include "common/consumer/consumer_loop.hpp"
#include "common/consumer/consumer_metrics.hpp"
#include "common/consumer/queue_sampler.hpp"
#include "common/daemon/daemon.hpp"
#include "common/http/server.hpp"
#include "common/metrics/registry.hpp"
#include "common/metrics/windowed_counter.hpp"
#include "common/retention/pg_batch_deleter.hpp"
#include "common/retention/retention_loop.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/app/settings.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"
#include "learning-service/enrollment/enrollment_metrics.hpp"
#include "learning-service/enrollment/pg_enrollment_repository.hpp"

namespace paynotify::learning {

/// What learning-service's /readyz reports under "flow", read from values sampled elsewhere.
struct LearningFlow {
  std::string queue;                         ///< the main queue's name
  consumer::QueueSample queue_messages;      ///< ready in the main queue
  consumer::QueueSample dead_letter_messages;  ///< ready in the dead-letter queue
  uint64_t dead_lettered_last_hour = 0;      ///< since start, at most the last hour
  std::optional<std::chrono::system_clock::time_point> last_applied;
};

/// {"queue", "queue_messages", "dead_letter_queue_messages", "queue_sampled_seconds_ago",
/// "dead_lettered_last_hour", "last_applied_at" (UTC, ISO 8601 with milliseconds)}; what is
/// not known yet (no sample, a failed sample, nothing applied since start) is null, never 0.
nlohmann::ordered_json LearningFlowJson(const LearningFlow& flow, std::chrono::steady_clock::time_point now);

/// The queue-role labels of paynotify_learning_queue_messages.
inline constexpr const char* kMainQueueLabel = "main";
inline constexpr const char* kDeadLetterQueueLabel = "dead-letter";

/// Lifecycle (from one controlling thread, see daemon::Component): Connect() (or
/// DeclareTopology() and ConnectDatabase()) -> Start() -> ... -> Stop(). Stop() turns
/// readiness false, stops HTTP, lets the in-flight delivery finish and be settled, joins the
/// consumer thread and the inbox retention thread (consumer.dedup-retention), closes the AMQP
/// connections, then the database connections.
/// Ready()/BrokerConnected()/DatabaseAvailable(), Port() and Reader() may be used from any
/// thread.
class LearningService final : public daemon::Component {
 public:
  /// Metrics go to `registry` (which must outlive the service) ...
  LearningService(LearningSettings settings, metrics::Registry& registry,
                  const runtime::Clock& clock = runtime::SystemClock::Instance());
  /// ... or to a registry of its own (the daemon).
  explicit LearningService(LearningSettings settings,
                           const runtime::Clock& clock = runtime::SystemClock::Instance());
  ~LearningService();
  LearningService(const LearningService&) = delete;
  LearningService& operator=(const LearningService&) = delete;

  /// Declares exchange, queues and binding. Throws amqp::TopologyMismatch (naming the queue
  /// and argument) or amqp::AmqpError.
  void DeclareTopology();
  /// Opens the apply connection now, so a wrong database setting fails at start-up.
  /// Throws pqxx::failure.
  void ConnectDatabase();
  /// DeclareTopology() then ConnectDatabase(); the daemon skeleton retries it while the
  /// broker or the database is down.
  void Connect() override;
  /// Starts the consumer thread and the inbox retention thread, then HTTP (server.*) last. Throws std::runtime_error if the
  /// address cannot be bound.
  void Start() override;
  /// Idempotent; never throws.
  void Stop() noexcept override;

  /// The HTTP listener's port (the real one when server.port is 0); 0 before Start().
  int Port() const { return http_ ? http_->Port() : 0; }
  bool BrokerConnected() const { return loop_.BrokerConnected(); }
  bool DatabaseAvailable() const { return !loop_.Paused(); }  // only the database pauses the handler
  bool Ready() const { return loop_.Ready(); }
  /// The flow as /readyz shows it (last samples; no I/O). Any thread.
  LearningFlow Flow() const;
  PgEnrollmentReader& Reader() { return reader_; }
  const LearningSettings& Settings() const { return settings_; }

 private:
  LearningService(LearningSettings settings, metrics::Registry* registry, const runtime::Clock& clock);

  LearningSettings settings_;
  std::unique_ptr<metrics::Registry> own_registry_;  // only when no registry was given
  metrics::Registry& registry_;
  consumer::ConsumerMetrics loop_metrics_;
  EnrollmentMetrics metrics_;
  PgEnrollmentRepository repository_;
  PgEnrollmentReader reader_;
  consumer::AmqpDeliverySource source_;
  consumer::AmqpCopyPublisher publisher_;
  EnrollmentHandler handler_;
  consumer::ConsumerLoop loop_;
  metrics::WindowedCounter dead_lettered_last_hour_;
  consumer::AmqpQueueProbe queue_probe_;  // its own connection, on the sampler thread only
  consumer::QueueSampler queue_sampler_;
  const runtime::Clock& clock_;
  std::jthread worker_;
  std::jthread sampler_;
  // Inbox retention: its own connection and thread, so deleting never waits for or holds up
  // the consumer.
  retention::PgBatchDeleter inbox_deleter_;
  retention::RetentionMetrics retention_metrics_;
  retention::RetentionLoop retention_;
  std::jthread retention_worker_;
  std::unique_ptr<http::Server> http_;  // created by Start()
  bool stopped_ = false;
};

}  // namespace paynotify::learning

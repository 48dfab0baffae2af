#pragma once
/// learning-service assembled: repository, AMQP adapters, handler (the policy) and
/// common/consumer's loop (the mechanism) on its own thread, and the HTTP query API with its
/// probes. main.cpp (through the daemon skeleton) and the integration tests build it the same
/// way.
#include <memory>
#include <thread>

#include "common/consumer/amqp_adapters.hpp"
#include "common/consumer/consumer_loop.hpp"
#include "common/consumer/consumer_metrics.hpp"
#include "common/daemon/daemon.hpp"
#include "common/http/server.hpp"
#include "common/metrics/registry.hpp"
#include "common/retention/pg_batch_deleter.hpp"
#include "common/retention/retention_loop.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/app/settings.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"
#include "learning-service/enrollment/enrollment_metrics.hpp"
#include "learning-service/enrollment/pg_enrollment_repository.hpp"

namespace paynotify::learning {

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
  std::jthread worker_;
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

#pragma once
/// The assembled consumer side of learning-service: repository, AMQP adapters, handler and
/// consumer loop on its own thread. main.cpp and the integration tests build it the same way.
#include <memory>
#include <thread>

#include "common/metrics/registry.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/app/settings.hpp"
#include "learning-service/consumer/amqp_adapters.hpp"
#include "learning-service/consumer/consumer_loop.hpp"
#include "learning-service/consumer/consumer_metrics.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"
#include "learning-service/enrollment/pg_enrollment_repository.hpp"

namespace paynotify::learning {

/// Lifecycle (from one controlling thread): DeclareTopology() -> ConnectDatabase() ->
/// Start() -> ... -> Stop(). Stop() lets the in-flight delivery finish and be settled, joins
/// the consumer thread, closes the AMQP connections, then the database connections.
/// Ready()/BrokerConnected()/DatabaseAvailable() and Reader() may be used from any thread.
class LearningService {
 public:
  LearningService(LearningSettings settings, metrics::Registry& registry,
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
  /// Starts the consumer thread.
  void Start();
  /// Idempotent; never throws.
  void Stop() noexcept;

  bool BrokerConnected() const { return loop_.BrokerConnected(); }
  bool DatabaseAvailable() const { return !loop_.DatabasePaused(); }
  bool Ready() const { return loop_.Ready(); }
  PgEnrollmentReader& Reader() { return reader_; }
  const LearningSettings& Settings() const { return settings_; }

 private:
  LearningSettings settings_;
  ConsumerMetrics metrics_;
  PgEnrollmentRepository repository_;
  PgEnrollmentReader reader_;
  AmqpDeliverySource source_;
  AmqpCopyPublisher publisher_;
  EnrollmentHandler handler_;
  ConsumerLoop loop_;
  std::jthread worker_;
  bool stopped_ = false;
};

}  // namespace paynotify::learning

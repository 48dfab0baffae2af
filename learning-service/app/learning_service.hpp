#pragma once
/// The assembled consumer side of learning-service: repository, AMQP adapters, handler (the
/// policy) and common/consumer's loop (the mechanism) on its own thread. main.cpp and the
/// integration tests build it the same way.
#include <memory>
#include <thread>

#include "common/consumer/amqp_adapters.hpp"
#include "common/consumer/consumer_loop.hpp"
#include "common/consumer/consumer_metrics.hpp"
#include "common/metrics/registry.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/app/settings.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"
#include "learning-service/enrollment/enrollment_metrics.hpp"
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
  bool DatabaseAvailable() const { return !loop_.Paused(); }  // only the database pauses the handler
  bool Ready() const { return loop_.Ready(); }
  PgEnrollmentReader& Reader() { return reader_; }
  const LearningSettings& Settings() const { return settings_; }

 private:
  LearningSettings settings_;
  consumer::ConsumerMetrics loop_metrics_;
  EnrollmentMetrics metrics_;
  PgEnrollmentRepository repository_;
  PgEnrollmentReader reader_;
  consumer::AmqpDeliverySource source_;
  consumer::AmqpCopyPublisher publisher_;
  EnrollmentHandler handler_;
  consumer::ConsumerLoop loop_;
  std::jthread worker_;
  bool stopped_ = false;
};

}  // namespace paynotify::learning

#pragma once
/// learning-service configuration: every key the daemon reads (the config schema).
#include <chrono>
#include <cstdint>
#include <string>

#include "common/amqp/settings.hpp"
#include "common/config/reader.hpp"
#include "common/consumer/topology_plan.hpp"
#include "common/http/settings.hpp"
#include "common/log/log.hpp"
#include "common/pg/settings.hpp"
#include "common/retention/retention_settings.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"

namespace paynotify::learning {

struct LearningSettings {
  http::ServerSettings server;  ///< server.*: the query API, probes and metrics
  pg::PgSettings database;
  amqp::BrokerSettings broker;
  consumer::ConsumerTopology topology;
  uint16_t prefetch = 250;
  uint16_t batch_size = 100;  ///< most deliveries applied in one transaction (<= prefetch)
  size_t max_body_bytes = kDefaultMaxBodyBytes;  ///< longer bodies are dead-lettered "too-large" undecoded
  std::chrono::milliseconds confirm_timeout{5000};
  std::chrono::milliseconds poll_interval{500};
  /// consumer.dedup-retention (how long inbox rows are kept) and the shared retention.* pacing;
  /// its back-off is database.reconnect.
  retention::RetentionSettings inbox_retention;
  /// How often the queue depths of /readyz and paynotify_learning_queue_messages are sampled.
  /// Not a config key (the alerts' windows are minutes); tests shorten it.
  std::chrono::milliseconds queue_sample_interval{5000};
  log::LogSettings log;
};

/// Reads every key (see config/learning-service.yaml for the documented list):
///   server.* (http::ReadServerSettings); database.* (pg::ReadPgSettings); rabbitmq.* (Spring names,
///   amqp::ReadBrokerSettings) plus rabbitmq.listener.{prefetch,batch-size,max-body-bytes} and
///   rabbitmq.listener.retry.{initial-interval,multiplier,max-interval,max-attempts};
///   consumer.{exchange,queue,queue-type,delivery-limit,dead-letter-queue,confirm-timeout,poll-interval,
///   dedup-retention};
///   retention.{batch-size,batch-pause,idle-interval}; log.{level,json}.
/// consumer.dedup-retention must be at least 1h and longer than the whole retry chain
/// (rabbitmq.listener.retry.*): an inbox row must outlive every redelivery of its message.
/// Errors are recorded on the reader; the caller calls reader.Finish().
LearningSettings ReadLearningSettings(config::Reader& reader);

}  // namespace paynotify::learning

#include "learning-service/app/settings.hpp"

#include <algorithm>

#include "common/messages/mq_message.hpp"
#include "learning-service/enrollment/inbox_retention.hpp"

namespace paynotify::learning {

using namespace std::chrono_literals;

LearningSettings ReadLearningSettings(config::Reader& reader) {
  LearningSettings s;
  http::ServerSettings server_defaults;
  server_defaults.port = 8082;
  s.server = http::ReadServerSettings(reader, "server", server_defaults);

  s.database = pg::ReadPgSettings(reader, "database", "learning-service");
  s.broker = amqp::ReadBrokerSettings(reader);
  if (s.broker.connection_name.empty()) s.broker.connection_name = "learning-service";

  s.prefetch = static_cast<uint16_t>(reader.Int("rabbitmq.listener.prefetch", 250, 1, 65535));
  s.batch_size = static_cast<uint16_t>(reader.Int("rabbitmq.listener.batch-size", 100, 1, 65535));
  if (s.batch_size > s.prefetch) {
    // A batch is made of deliveries the broker has already sent, so it can never be larger.
    reader.AddError("rabbitmq.listener.batch-size",
                    "must not exceed rabbitmq.listener.prefetch (" + std::to_string(s.prefetch) +
                        "): a batch only takes deliveries the broker has already sent");
  }
  // A body is read whole before we can refuse it, so the broker's own limit (RabbitMQ's
  // max_message_size, 128 MiB by default) still bounds one delivery; this bounds decoding,
  // and the consumer never batches more than one body over it.
  constexpr int64_t kMaxBodyBytesLimit = 64 * 1024 * 1024;
  s.max_body_bytes = static_cast<size_t>(reader.Int("rabbitmq.listener.max-body-bytes",
                                                    static_cast<int64_t>(kDefaultMaxBodyBytes), 1024,
                                                    kMaxBodyBytesLimit));
  RetryPolicy& retry = s.topology.retry;
  retry.backoff.initial = reader.Duration("rabbitmq.listener.retry.initial-interval", 1000ms);
  retry.backoff.multiplier = reader.Double("rabbitmq.listener.retry.multiplier", 2.0, 1.0, 100.0);
  retry.backoff.max = reader.Duration("rabbitmq.listener.retry.max-interval", 30000ms);
  retry.max_attempts = static_cast<int>(reader.Int("rabbitmq.listener.retry.max-attempts", 5, 1, 100));
  if (retry.backoff.initial <= 0ms) {
    reader.AddError("rabbitmq.listener.retry.initial-interval", "must be greater than 0");
  }
  if (retry.backoff.max < retry.backoff.initial) {
    reader.AddError("rabbitmq.listener.retry.max-interval",
                    "must be at least rabbitmq.listener.retry.initial-interval");
  }

  s.topology.exchange = reader.String("consumer.exchange", std::string(messages::kExchange));
  s.topology.queue = reader.String("consumer.queue", "learning.paynotify");
  s.topology.queue_type = reader.OneOf("consumer.queue-type", "classic", {"classic", "quorum"});
  s.topology.dead_letter_queue = reader.String("consumer.dead-letter-queue", s.topology.queue + ".dlq");
  // Quorum queues only (classic queues have no delivery limit; the key is read either way so
  // that one file serves both modes).
  s.topology.delivery_limit = static_cast<int>(
      reader.Int("consumer.delivery-limit", consumer::kDefaultDeliveryLimit, 1, 1'000'000));
  if (s.topology.exchange.empty()) reader.AddError("consumer.exchange", "must not be empty");
  if (s.topology.queue.empty()) reader.AddError("consumer.queue", "must not be empty");
  if (s.topology.dead_letter_queue.empty() || s.topology.dead_letter_queue == s.topology.queue) {
    reader.AddError("consumer.dead-letter-queue", "must be a queue name other than consumer.queue");
  }
  s.confirm_timeout = reader.Duration("consumer.confirm-timeout", 5000ms);
  s.poll_interval = reader.Duration("consumer.poll-interval", 500ms);
  if (s.confirm_timeout <= 0ms) reader.AddError("consumer.confirm-timeout", "must be greater than 0");
  if (s.poll_interval <= 0ms) reader.AddError("consumer.poll-interval", "must be greater than 0");

  // The inbox must remember a message for longer than it can come back: at least an hour,
  // and at least the whole retry chain (the sum of every retry delay, rabbitmq.listener.retry.*).
  std::chrono::milliseconds retry_chain{0};
  for (int attempt = 1; attempt < retry.max_attempts; ++attempt) {
    retry_chain += runtime::DelayForAttempt(retry.backoff, attempt);
  }
  const std::chrono::milliseconds minimum = std::max(kMinDedupRetention, retry_chain);
  s.inbox_retention.retention = retention::ReadRetentionPeriod(
      reader, "consumer.dedup-retention", kDefaultDedupRetention, minimum,
      minimum == kMinDedupRetention
          ? "a message may be redelivered, retried or re-published for that long, and must still be "
            "recognised as applied"
          : "longer than the retry chain of rabbitmq.listener.retry.* (a message being retried must still "
            "be recognised as applied)");
  retention::ReadRetentionPacing(reader, s.inbox_retention);
  s.inbox_retention.backoff = s.database.reconnect;

  s.log.level = reader.OneOf("log.level", "info", {"trace", "debug", "info", "warn", "error", "critical", "off"});
  s.log.json = reader.Bool("log.json", false);
  return s;
}

}  // namespace paynotify::learning

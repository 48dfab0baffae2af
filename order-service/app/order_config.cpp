#include "order-service/app/order_config.hpp"

#include "common/http/bearer_auth.hpp"
#include "common/messages/mq_message.hpp"
#include "order-service/outbox/history_retention.hpp"

namespace paynotify::order {

using std::chrono::milliseconds;

OrderServiceConfig ReadOrderConfig(config::Reader& reader) {
  OrderServiceConfig c;

  http::ServerSettings public_defaults;
  public_defaults.name = "public";
  public_defaults.port = 8081;
  public_defaults.operator_endpoints = false;  // the internet sees no readiness or metrics
  c.server = http::ReadServerSettings(reader, "server", public_defaults);
  http::ServerSettings internal_defaults;
  internal_defaults.name = "internal";
  internal_defaults.port = 8091;
  c.internal_server = http::ReadServerSettings(reader, "internal-server", internal_defaults);
  if (c.server.port != 0 && c.server.port == c.internal_server.port) {
    reader.AddError("internal-server.port", "must differ from server.port (the public listener)");
  }
  const size_t errors_before_token = reader.Errors().size();
  c.api_tokens = http::SplitTokens(reader.Secret("order-api.token"));
  if (c.api_tokens.empty() && reader.Errors().size() == errors_before_token) {
    reader.AddError("order-api.token",
                    "required: give at least one token in PAYNOTIFY_ORDER_API_TOKEN or "
                    "order-api.token-file (the order API is never open)");
  }

  c.database = pg::ReadPgSettings(reader, "database", "order-service");
  c.database_pool_size = static_cast<int>(reader.Int("database.pool-size", 8, 1, 256));

  // Group commit of the notifications (issue 15): a group holds at most as many members as
  // there are HTTP worker threads waiting, whatever the bound.
  c.intake_max_batch = static_cast<size_t>(
      reader.Int("intake.max-batch", static_cast<int64_t>(c.intake_max_batch), 1, 1024));
  c.intake_max_batches_in_flight = static_cast<size_t>(reader.Int(
      "intake.max-batches-in-flight", static_cast<int64_t>(c.intake_max_batches_in_flight), 1, 64));
  // Each group in flight holds one pooled connection (and its fallback one more at a time):
  // more groups than connections would only wait for the pool and answer 503.
  if (c.intake_max_batches_in_flight > static_cast<size_t>(c.database_pool_size)) {
    reader.AddError("intake.max-batches-in-flight",
                    "must not exceed database.pool-size (" + std::to_string(c.database_pool_size) +
                        "): each group in flight holds a connection");
  }

  c.rabbitmq = amqp::ReadBrokerSettings(reader);
  if (c.rabbitmq.connection_name.empty()) c.rabbitmq.connection_name = "order-service relay";

  // The defaults of every relay.* key are those of RelaySettings and RelayConfig: one place.
  const RelaySettings relay_defaults;
  const RelayConfig config_defaults;
  RelaySettings& relay = c.relay.core;
  // The wire contract's exchange; configurable so a second system (or a test) can run on
  // the same broker without its messages reaching the first one's subscribers.
  relay.exchange = reader.String("relay.exchange", std::string(messages::kExchange));
  if (relay.exchange.empty()) reader.AddError("relay.exchange", "must not be empty (the default exchange cannot fan out)");
  relay.app_id = std::string(messages::kAppIdOrderService);
  c.relay.notify_channel = reader.String("relay.notify-channel", config_defaults.notify_channel);
  if (c.relay.notify_channel.empty()) reader.AddError("relay.notify-channel", "must not be empty");
  relay.poll_interval = reader.Duration("relay.poll-interval", relay_defaults.poll_interval);
  relay.batch_size = static_cast<size_t>(
      reader.Int("relay.batch-size", static_cast<int64_t>(relay_defaults.batch_size), 1, 10000));
  c.relay.confirm_window = static_cast<size_t>(
      reader.Int("relay.confirm-window", static_cast<int64_t>(config_defaults.confirm_window), 1, 100000));
  relay.confirm_timeout = reader.Duration("relay.confirm-timeout", relay_defaults.confirm_timeout);
  c.relay.keep_history = reader.Bool("relay.keep-history", config_defaults.keep_history);
  c.relay.workers = static_cast<size_t>(
      reader.Int("relay.workers", static_cast<int64_t>(config_defaults.workers), 1, 16));
  relay.retry.initial = reader.Duration("relay.retry.initial-interval", relay_defaults.retry.initial);
  relay.retry.multiplier = reader.Double("relay.retry.multiplier", relay_defaults.retry.multiplier, 1.0, 100.0);
  relay.retry.max = reader.Duration("relay.retry.max-interval", relay_defaults.retry.max);
  // Failed publishes of a row before it is parked; the reader rejects anything below 1.
  relay.max_attempts = static_cast<int>(
      reader.Int("relay.max-attempts", relay_defaults.max_attempts, 1, 1000000));
  relay.stats_interval = reader.Duration("relay.stats-interval", relay_defaults.stats_interval);
  relay.broker_reconnect = c.rabbitmq.reconnect;
  relay.database_reconnect = c.database.reconnect;
  if (relay.poll_interval < milliseconds(10)) reader.AddError("relay.poll-interval", "must be at least 10ms");
  if (relay.confirm_timeout < milliseconds(100)) {
    reader.AddError("relay.confirm-timeout", "must be at least 100ms");
  }
  if (relay.retry.initial <= milliseconds(0)) {
    reader.AddError("relay.retry.initial-interval", "must be greater than 0");
  }
  if (relay.retry.max < relay.retry.initial) {
    reader.AddError("relay.retry.max-interval", "must not be less than relay.retry.initial-interval");
  }

  c.relay.history_retention.retention = retention::ReadRetentionPeriod(
      reader, "relay.history-retention", kDefaultHistoryRetention, kMinHistoryRetention,
      "a plain number is milliseconds; give a unit (30d, 720h)");
  retention::ReadRetentionPacing(reader, c.relay.history_retention);
  c.relay.history_retention.backoff = c.database.reconnect;

  c.alipay.app_id = reader.String("alipay.app-id", "");
  if (c.alipay.app_id.empty()) {
    reader.AddError("alipay.app-id", "required: our application id at the payment platform");
  }
  c.alipay.verify_signature = reader.Bool("alipay.verify-signature", true);
  c.alipay.public_key_file = reader.String("alipay.public-key-file", "");
  if (c.alipay.verify_signature) {
    if (c.alipay.public_key_file.empty()) {
      reader.AddError("alipay.public-key-file",
                      "required while alipay.verify-signature is true (the platform's RSA public key, PEM)");
    } else {
      try {
        c.alipay.verifier = SignatureVerifier::FromPublicKeyFile(c.alipay.public_key_file);
      } catch (const std::invalid_argument& e) {
        reader.AddError("alipay.public-key-file", e.what());
      }
    }
  }

  c.log.level = reader.OneOf("log.level", "info", {"trace", "debug", "info", "warn", "error", "critical", "off"});
  c.log.json = reader.Bool("log.json", false);

  return c;
}

}  // namespace paynotify::order

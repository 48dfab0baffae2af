#pragma once
/// order-service's configuration (config/order-service.yaml): every key, its default and
/// its validation. The keys read here ARE the schema: unknown keys are errors.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/amqp/settings.hpp"
#include "common/config/reader.hpp"
#include "common/http/server.hpp"
#include "common/http/settings.hpp"
#include "common/log/log.hpp"
#include "common/pg/settings.hpp"
#include "common/retention/retention_settings.hpp"
#include "order-service/intake/signature.hpp"
#include "order-service/outbox/history_retention.hpp"
#include "order-service/relay/relay.hpp"

namespace paynotify::order {

struct AlipayConfig {
  std::string app_id;               ///< alipay.app-id: notifications for other apps are rejected
  std::string public_key_file;      ///< alipay.public-key-file: the platform's RSA public key (PEM)
  bool verify_signature = true;     ///< alipay.verify-signature: false only for local demos
  std::optional<SignatureVerifier> verifier;  ///< loaded from public_key_file when verifying
};

struct RelayConfig {
  RelaySettings core;                 ///< batch size, intervals, retry back-off
  std::string notify_channel = "paynotify_outbox";  ///< relay.notify-channel (LISTEN/NOTIFY)
  size_t confirm_window = 1000;       ///< relay.confirm-window: outstanding confirms
  bool keep_history = false;          ///< relay.keep-history: move confirmed rows to mq_message_history
  /// relay.workers: relays in this daemon, each a thread with its own database and broker
  /// connections: one lead, and helpers that claim only while the lead's batches come back
  /// full (RelayTeam), so a backlog drains with one claiming while another waits for its
  /// confirms (bench/RESULTS.md 12). Claim's SKIP LOCKED keeps them apart and its per-key rule
  /// keeps each business_key1 in id order, as for relays in several daemons.
  size_t workers = 2;
  /// relay.history-retention (how long history rows are kept; default 30d, at least 1h) and the
  /// shared retention.* pacing; its back-off is database.reconnect.
  retention::RetentionSettings history_retention{.retention = kDefaultHistoryRetention};
};

struct OrderServiceConfig {
  /// server.*: the internet-facing listener (POST /orders/paynotify and /healthz only).
  http::ServerSettings server;
  /// internal-server.*: the order API, /readyz and /metrics, for callers inside the trust
  /// boundary; the order API needs a bearer token.
  http::ServerSettings internal_server;
  /// order-api.token (PAYNOTIFY_ORDER_API_TOKEN or order-api.token-file): one or more tokens
  /// separated by commas or white space. Required.
  std::vector<std::string> api_tokens;
  pg::PgSettings database;
  int database_pool_size = 8;         ///< database.pool-size: connections for HTTP requests
  /// intake.max-batch (1..1024; 1 = one statement per notification, no grouping) and
  /// intake.max-batches-in-flight (1..64): the group commit of POST /orders/paynotify.
  size_t intake_max_batch = 32;
  size_t intake_max_batches_in_flight = 1;
  amqp::BrokerSettings rabbitmq;
  RelayConfig relay;
  AlipayConfig alipay;
  log::LogSettings log;
};

/// Reads every key from `reader`, recording each problem on it (including an unreadable
/// public key file). Never calls reader.Finish(): the caller does (the daemon skeleton), so
/// every error is reported at once.
OrderServiceConfig ReadOrderConfig(config::Reader& reader);

}  // namespace paynotify::order

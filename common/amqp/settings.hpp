#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/runtime/backoff.hpp"

namespace paynotify::config {
class Reader;
}

namespace paynotify::amqp {

/// One broker node to try.
struct BrokerAddress {
  std::string host{};
  int port = 5672;
};

/// How to reach the broker. A value type; copy freely.
struct BrokerSettings {
  /// Tried in order on every (re)connect until one accepts the login.
  std::vector<BrokerAddress> addresses{};
  std::string username{};
  std::string password{};  // never logged
  std::string virtual_host = "/";
  /// Requested heartbeat in seconds (0 disables). rabbitmq-c services heartbeats only inside
  /// its calls, so every waiting call in this library wakes at least every heartbeat/2.
  int heartbeat_s = 30;
  /// Bounds the TCP connect and the AMQP login handshake, per address.
  std::chrono::milliseconds connect_timeout{5000};
  /// Bounds every synchronous AMQP method (declare, bind, qos, consume, confirm.select,
  /// close). After it expires the connection is dropped.
  std::chrono::milliseconds rpc_timeout{10000};
  /// Sent as the client property "connection_name" (shown by the management UI and
  /// `rabbitmqctl list_connections client_properties`); empty -> "paynotify-<pid>".
  std::string connection_name{};
  /// Delay between reconnect attempts of the caller's worker loop (the relay, the consumer).
  runtime::BackoffPolicy reconnect{};
};

/// Reads the broker settings, using Spring Boot's spring.rabbitmq names under "rabbitmq":
///   rabbitmq.host (localhost), rabbitmq.port (5672), rabbitmq.addresses (list of
///   "host[:port]"; when set it replaces host/port, as in Spring), rabbitmq.username (guest),
///   rabbitmq.password (secret, required: value, env PAYNOTIFY_RABBITMQ_PASSWORD or
///   rabbitmq.password-file), rabbitmq.virtual-host (/), rabbitmq.requested-heartbeat (30s;
///   a bare number means seconds, as in Spring), rabbitmq.connection-timeout (5s; a bare
///   number means milliseconds, as in Spring), rabbitmq.rpc-timeout (10s),
///   rabbitmq.connection-name (""), rabbitmq.reconnect.initial-interval (1s),
///   rabbitmq.reconnect.multiplier (2.0), rabbitmq.reconnect.max-interval (30s).
/// Invalid values are recorded on the reader (reported all at once by Reader::Finish()).
BrokerSettings ReadBrokerSettings(config::Reader& reader);

/// Parses "host", "host:port" or "[v6addr]:port"; returns false on a malformed entry.
bool ParseBrokerAddress(const std::string& text, BrokerAddress& out);

}  // namespace paynotify::amqp

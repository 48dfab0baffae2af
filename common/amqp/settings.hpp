#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
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
  /// Tried in turn on every (re)connect until one accepts the login: from the first, or, for
  /// an owner that keeps an AddressRotation, from the one after the address it was last
  /// connected to (round-robin).
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

/// Which broker address a connection owner (a consumer, a publisher) connects to next. A
/// reconnect starts with the address AFTER the one it was last connected to and wraps round,
/// so an owner whose node died tries the other nodes first and the dead one last, instead of
/// waiting for the dead one on every attempt; an owner that never connected starts with the
/// first. One per owner, used from the owner's thread only.
class AddressRotation {
 public:
  /// The indexes of `count` addresses in the order to try them.
  std::vector<size_t> Order(size_t count) const;
  /// A connection to addresses[index] was established.
  void Connected(size_t index) { last_ = index; }
  std::optional<size_t> Last() const { return last_; }

 private:
  std::optional<size_t> last_;
};

/// Parses "host", "host:port" or "[v6addr]:port"; returns false on a malformed entry.
bool ParseBrokerAddress(const std::string& text, BrokerAddress& out);

}  // namespace paynotify::amqp

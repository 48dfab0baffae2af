#pragma once
// What every part of paynotify-bench shares: the command-line options, the figures one run
// produces, and the correctness gate (a run whose checks fail is not a result).
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/amqp/settings.hpp"

namespace paynotify::bench {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string scenario;
  int n = 20000;         // e2e / intake payments
  int k = 100000;        // relay / consumer / limits messages
  int backlog = 1000000; // retention: expired inbox rows to delete while applying
  int concurrency = 32;  // HTTP connections
  int connections = 16;  // raw PostgreSQL connections
  int runs = 1;
  double rate = 0;  // e2e: paced notifications per second (0 = as fast as the concurrency allows)
  std::string json_path;
  std::map<std::string, std::string> env;  // --env KEY=VALUE: extra daemon settings (both daemons)
  std::string queue_type = "classic";       // --queue-type: the queues the bench and learning-service declare
};

/// The daemons' environment for a scenario: its own overrides, then --env on top.
std::map<std::string, std::string> DaemonEnv(const Options& o, std::map<std::string, std::string> base = {});

/// The broker part of a scenario's daemon environment (issue 12): every node of `scripts/infra
/// env` as rabbitmq.addresses ($PAYNOTIFY_AMQP_ADDRESSES, when it lists more than one node;
/// the daemons connect to the first and move on when it fails), and --queue-type as
/// learning-service's consumer.queue-type. Empty for a single node and classic queues, so the
/// single-node runs are exactly the earlier ones. Merged into `base`.
std::map<std::string, std::string> BrokerEnv(const Options& o, std::map<std::string, std::string> base = {});

/// The RabbitMQ nodes of the run ($PAYNOTIFY_RABBITMQ_NODES; 1 when unset).
int BrokerNodes();

/// A failed correctness check: the run is not a result.
struct CheckFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws CheckFailed("CHECK FAILED: what") unless ok.
void Require(bool ok, const std::string& what);

double Seconds(Clock::duration d);

/// One run's figures, in insertion order, with units.
struct Figures {
  std::vector<std::pair<std::string, std::string>> order;  // name, unit
  std::map<std::string, double> values;
  void Set(const std::string& name, double value, const std::string& unit) {
    if (!values.contains(name)) order.emplace_back(name, unit);
    values[name] = value;
  }
};

/// The local test broker, with a connection name that shows in the management view.
amqp::BrokerSettings BrokerSettings(const std::string& name);

}  // namespace paynotify::bench

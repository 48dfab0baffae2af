#pragma once
// The local three-node RabbitMQ cluster (`scripts/infra up --rabbitmq-nodes 3`) as the
// cluster failover scenarios see it: each node's AMQP address and Erlang node name (from
// `scripts/infra env`), an address list in any node order (so a test decides which node each
// daemon connects to first), and what `rabbitmqctl` says about a queue's leader and members
// and about which node a named connection is on. Node numbers are 1-based, as in
// `scripts/infra stop rabbitmq@N`.
//
// A missing or single-node environment is a test failure (MissingEnvironment), never a skip.
#include <map>
#include <string>
#include <vector>

namespace paynotify::e2e {

class RabbitCluster {
 public:
  /// Reads PAYNOTIFY_RABBITMQ_NODES (must be >= 3), PAYNOTIFY_AMQP_ADDRESSES ("host:port,..."
  /// in node order), PAYNOTIFY_AMQP_PORT_<N> and PAYNOTIFY_RABBITMQ_NODENAME_<N>. Throws
  /// testing::MissingEnvironment naming what is missing and how to get a cluster.
  static RabbitCluster FromEnv();

  int Nodes() const { return static_cast<int>(addresses_.size()); }
  /// "host:port" of node n.
  const std::string& Address(int node) const { return addresses_.at(node - 1); }
  /// The value for a daemon's rabbitmq.addresses (PAYNOTIFY_RABBITMQ_ADDRESSES): the nodes
  /// in `order`, comma-separated. The daemon connects to the first that accepts.
  std::string Addresses(const std::vector<int>& order) const;
  /// Erlang node name of node n ("rabbit-2@localhost"), as rabbitmqctl prints it.
  const std::string& NodeName(int node) const { return node_names_.at(node - 1); }
  /// Node number of an Erlang node name or AMQP port; 0 if none.
  int NodeOfName(const std::string& name) const;
  int NodeOfPort(int port) const;

  /// `scripts/infra rabbitmqctl --node <via> -q <args>`; throws std::runtime_error with the
  /// output when it fails.
  std::string Ctl(const std::string& args, int via) const;

  /// A quorum queue's leader and its members that are online, as node numbers (0 / empty when
  /// the cluster has none, e.g. during an election). Asked through node `via`.
  struct QueueState {
    int leader = 0;
    std::vector<int> online;
  };
  QueueState Queue(const std::string& queue, int via) const;

  /// Where the client connection named `connection_name` (its client property, see
  /// rabbitmq.connection-name) is: node number and the client's local port (a new port after
  /// a reconnect). node 0 when there is no such connection. Asked through node `via`.
  struct ConnectionState {
    int node = 0;
    std::string peer;  // "127.0.0.1:45954 -> 127.0.0.1:28672": changes when it reconnects
  };
  ConnectionState Connection(const std::string& connection_name, int via) const;

 private:
  std::vector<std::string> addresses_;
  std::vector<int> ports_;
  std::vector<std::string> node_names_;
};

}  // namespace paynotify::e2e

#include "tests/e2e/cluster/rabbit_cluster.hpp"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tests/support/test_env.hpp"

namespace paynotify::e2e {

namespace t = paynotify::testing;

namespace {

// rabbitmqctl's JSON output is an array; anything it or scripts/infra printed around it
// (a warning on stderr, which Infra() merges) is cut off.
nlohmann::json ParseJsonArray(const std::string& output) {
  const auto begin = output.find('[');
  const auto end = output.rfind(']');
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    throw std::runtime_error("rabbitmqctl printed no JSON array:\n" + output);
  }
  return nlohmann::json::parse(output.substr(begin, end - begin + 1));
}

}  // namespace

RabbitCluster RabbitCluster::FromEnv() {
  const std::string how =
      ": the cluster scenarios need the three-node cluster (scripts/test runs them in its cluster group;"
      " by hand: scripts/infra up --rabbitmq-nodes 3, then eval \"$(scripts/infra env)\")";
  const char* nodes_text = std::getenv("PAYNOTIFY_RABBITMQ_NODES");
  const int nodes = nodes_text != nullptr ? std::atoi(nodes_text) : 0;
  if (nodes < 3) {
    throw t::MissingEnvironment("PAYNOTIFY_RABBITMQ_NODES is " +
                                std::string(nodes_text != nullptr ? nodes_text : "not set") + how);
  }
  RabbitCluster cluster;
  std::stringstream list(t::RequireEnv("PAYNOTIFY_AMQP_ADDRESSES"));
  for (std::string entry; std::getline(list, entry, ',');) cluster.addresses_.push_back(entry);
  if (static_cast<int>(cluster.addresses_.size()) != nodes) {
    throw t::MissingEnvironment("PAYNOTIFY_AMQP_ADDRESSES has " + std::to_string(cluster.addresses_.size()) +
                                " entries for " + std::to_string(nodes) + " nodes" + how);
  }
  for (int n = 1; n <= nodes; ++n) {
    cluster.ports_.push_back(std::stoi(t::RequireEnv("PAYNOTIFY_AMQP_PORT_" + std::to_string(n))));
    cluster.node_names_.push_back(t::RequireEnv("PAYNOTIFY_RABBITMQ_NODENAME_" + std::to_string(n)));
  }
  return cluster;
}

std::string RabbitCluster::Addresses(const std::vector<int>& order) const {
  std::string out;
  for (int node : order) out += (out.empty() ? "" : ",") + Address(node);
  return out;
}

int RabbitCluster::NodeOfName(const std::string& name) const {
  for (size_t i = 0; i < node_names_.size(); ++i) {
    if (node_names_[i] == name) return static_cast<int>(i) + 1;
  }
  return 0;
}

int RabbitCluster::NodeOfPort(int port) const {
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == port) return static_cast<int>(i) + 1;
  }
  return 0;
}

std::string RabbitCluster::Ctl(const std::string& args, int via) const {
  std::string output;
  const std::string command = "rabbitmqctl --node " + std::to_string(via) + " -q " + args;
  if (t::Infra(command, &output) != 0) throw std::runtime_error("infra " + command + " failed:\n" + output);
  return output;
}

RabbitCluster::QueueState RabbitCluster::Queue(const std::string& queue, int via) const {
  QueueState state;
  for (const auto& row : ParseJsonArray(Ctl("list_queues name leader online --formatter json", via))) {
    if (row.value("name", "") != queue) continue;
    if (row["leader"].is_string()) state.leader = NodeOfName(row["leader"].get<std::string>());
    if (row["online"].is_array()) {
      for (const auto& member : row["online"]) {
        if (member.is_string()) state.online.push_back(NodeOfName(member.get<std::string>()));
      }
    }
  }
  return state;
}

RabbitCluster::ConnectionState RabbitCluster::Connection(const std::string& connection_name, int via) const {
  ConnectionState state;
  for (const auto& row : ParseJsonArray(Ctl("list_connections name port client_properties --formatter json", via))) {
    // client_properties: [["connection_name","longstr","..."], ...]
    bool match = false;
    if (row["client_properties"].is_array()) {
      for (const auto& property : row["client_properties"]) {
        if (property.is_array() && property.size() == 3 && property[0] == "connection_name" &&
            property[2] == connection_name) {
          match = true;
        }
      }
    }
    if (!match) continue;
    state.node = row["port"].is_number_integer() ? NodeOfPort(row["port"].get<int>()) : 0;
    state.peer = row.value("name", "");
  }
  return state;
}

}  // namespace paynotify::e2e

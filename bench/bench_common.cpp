#include "bench/bench_common.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "tests/e2e/harness/pay_system.hpp"

namespace paynotify::bench {

std::map<std::string, std::string> DaemonEnv(const Options& o, std::map<std::string, std::string> base) {
  for (const auto& [k, v] : o.env) base[k] = v;
  return base;
}

std::map<std::string, std::string> BrokerEnv(const Options& o, std::map<std::string, std::string> base) {
  const char* addresses = std::getenv("PAYNOTIFY_AMQP_ADDRESSES");
  if (addresses != nullptr && std::string_view(addresses).find(',') != std::string_view::npos) {
    base["PAYNOTIFY_RABBITMQ_ADDRESSES"] = addresses;
  }
  if (o.queue_type != "classic") base["PAYNOTIFY_CONSUMER_QUEUE_TYPE"] = o.queue_type;
  return base;
}

int BrokerNodes() {
  const char* nodes = std::getenv("PAYNOTIFY_RABBITMQ_NODES");
  if (nodes == nullptr) return 1;
  try {
    return std::max(1, std::stoi(nodes));
  } catch (const std::exception&) {
    return 1;
  }
}

void Require(bool ok, const std::string& what) {
  if (!ok) throw CheckFailed("CHECK FAILED: " + what);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

amqp::BrokerSettings BrokerSettings(const std::string& name) { return e2e::TestBrokerSettings(name, 30); }

}  // namespace paynotify::bench

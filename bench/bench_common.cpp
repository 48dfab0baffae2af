#include "bench/bench_common.hpp"

#include "tests/e2e/harness/pay_system.hpp"

namespace paynotify::bench {

std::map<std::string, std::string> DaemonEnv(const Options& o, std::map<std::string, std::string> base) {
  for (const auto& [k, v] : o.env) base[k] = v;
  return base;
}

void Require(bool ok, const std::string& what) {
  if (!ok) throw CheckFailed("CHECK FAILED: " + what);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

amqp::BrokerSettings BrokerSettings(const std::string& name) { return e2e::TestBrokerSettings(name, 30); }

}  // namespace paynotify::bench

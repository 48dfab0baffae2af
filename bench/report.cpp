#include "bench/report.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace paynotify::bench {

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

nlohmann::json Report(const std::string& name, const Options& o, const std::vector<Figures>& runs,
                      const std::vector<std::string>& loads) {
  nlohmann::json j;
  j["scenario"] = name;
  j["params"] = {{"n", o.n}, {"k", o.k}, {"concurrency", o.concurrency}, {"connections", o.connections}, {"runs", runs.size()}, {"rate", o.rate}, {"backlog", o.backlog}};
  j["nproc"] = std::thread::hardware_concurrency();
  j["loadavg_per_run"] = loads;
  j["env"] = o.env;
  j["rabbitmq_nodes"] = BrokerNodes();
  j["queue_type"] = o.queue_type;
  std::printf("\n== %s  (n=%d k=%d concurrency=%d connections=%d runs=%zu; nproc=%u; rabbitmq nodes=%d, queue type=%s)\n",
              name.c_str(), o.n, o.k, o.concurrency, o.connections, runs.size(), std::thread::hardware_concurrency(),
              BrokerNodes(), o.queue_type.c_str());
  std::printf("%-36s %12s %12s %12s  %s\n", "figure", "median", "min", "max", "unit");
  for (const auto& [fig, unit] : runs.front().order) {
    std::vector<double> v;
    for (const auto& r : runs) {
      if (auto it = r.values.find(fig); it != r.values.end()) v.push_back(it->second);
    }
    const double med = Median(v);
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::printf("%-36s %12.3f %12.3f %12.3f  %s\n", fig.c_str(), med, *lo, *hi, unit.c_str());
    j["figures"][fig] = {{"median", med}, {"min", *lo}, {"max", *hi}, {"unit", unit}, {"runs", v}};
  }
  for (size_t i = 0; i < loads.size(); ++i) std::printf("load average at end of run %zu: %s\n", i + 1, loads[i].c_str());
  std::fflush(stdout);
  return j;
}

}  // namespace paynotify::bench

// paynotify-bench — the real daemons against the local PostgreSQL and RabbitMQ, measured side
// by side with the raw limits of the same servers in the same run (issue 6).
//
//   paynotify-bench <e2e|relay|consumer|intake|limits|retention|all|smoke> [--n N] [--k K]
//                   [--backlog B] [--concurrency C] [--connections P] [--runs R] [--json FILE]
//                   [--queue-type classic|quorum]
//
// Needs `eval "$(scripts/infra env)"` (the servers must be up). Every scenario checks at the
// end that everything was applied and nothing twice, and exits 1 if not.
//
// This file is the command line only: scenarios.cpp (what each scenario runs and checks),
// raw_limits.cpp (the servers' raw limits), cpu_accounting.cpp + proc_stats.cpp (CPU and
// memory per process), report.cpp (tables and JSON), bench_common.hpp (options, figures).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_common.hpp"
#include "bench/proc_stats.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"

namespace paynotify::bench {

int Usage() {
  std::cerr << "usage: paynotify-bench <e2e|relay|consumer|intake|limits|retention|all|smoke> [--n N] [--k K]\n"
               "         [--concurrency C] [--connections P] [--runs R] [--json FILE] [--env KEY=VALUE]... [--rate R]\n"
               "  --n           payments for e2e and intake (default 20000)\n"
               "  --k           messages for relay, consumer, limits, retention (default 100000)\n"
               "  --backlog     retention only: expired inbox rows deleted while applying (default 1000000)\n"
               "  --concurrency HTTP connections for notifications (default 32)\n"
               "  --connections PostgreSQL connections for the raw transactions (default 16)\n"
               "  --runs        repetitions; tables show median, min, max (default 1)\n"
               "  --rate        e2e only: paced notifications per second (default: unpaced)\n"
               "  --env         extra daemon environment, e.g. PAYNOTIFY_RELAY_BATCH_SIZE=2000 (repeatable)\n"
               "  --queue-type  classic (default) or quorum: the bench's own queues (relay target, raw publish)\n"
               "                and learning-service's (consumer.queue-type); with a cluster's `infra env` the\n"
               "                daemons get every node as rabbitmq.addresses\n"
               "  smoke         every scenario at a tiny size (checks only, no claims)\n"
               "needs: eval \"$(scripts/infra env)\" with the servers up\n";
  return 2;
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage();
  Options o;
  o.scenario = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--n") o.n = std::stoi(value());
    else if (a == "--k") o.k = std::stoi(value());
    else if (a == "--backlog") o.backlog = std::stoi(value());
    else if (a == "--concurrency") o.concurrency = std::stoi(value());
    else if (a == "--connections") o.connections = std::stoi(value());
    else if (a == "--runs") o.runs = std::stoi(value());
    else if (a == "--rate") o.rate = std::stod(value());
    else if (a == "--json") o.json_path = value();
    else if (a == "--queue-type") o.queue_type = value();
    else if (a == "--env") {
      const std::string kv = value();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) return Usage();
      o.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    else return Usage();
  }
  std::vector<std::string> scenarios;
  if (o.scenario == "all" || o.scenario == "smoke") {
    scenarios = {"limits", "relay", "consumer", "intake", "e2e"};
    if (o.scenario == "smoke") {
      scenarios.push_back("retention");  // "all" leaves it out: a million rows is its own run
      o.n = 60;
      o.k = 200;
      o.concurrency = 4;
      o.connections = 4;
      o.runs = 1;
      o.backlog = 2000;
    }
  } else {
    scenarios = {o.scenario};
  }
  if (o.queue_type != "classic" && o.queue_type != "quorum") return Usage();
  if (o.n < 2 || o.k < 2 || o.backlog < 1 || o.concurrency < 1 || o.connections < 1 || o.runs < 1) return Usage();
  nlohmann::json all = nlohmann::json::array();
  for (const auto& name : scenarios) {
    std::vector<Figures> runs;
    std::vector<std::string> loads;
    for (int r = 0; r < o.runs; ++r) {
      std::fprintf(stderr, "bench: %s run %d/%d (rabbitmq nodes %d, queue type %s; load %s)\n", name.c_str(), r + 1,
                 o.runs, BrokerNodes(), o.queue_type.c_str(), LoadAverage().c_str());
      runs.push_back(RunScenario(name, o));
      loads.push_back(LoadAverage());
    }
    all.push_back(Report(name, o, runs, loads));
  }
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  }
  return 0;
}

}  // namespace paynotify::bench

int main(int argc, char** argv) {
  try {
    return paynotify::bench::Main(argc, argv);
  } catch (const paynotify::bench::CheckFailed& e) {
    std::fprintf(stderr, "\n*** %s ***\n*** the run is NOT a result ***\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paynotify-bench: %s\n", e.what());
    return 1;
  }
}

// learning-service: composition root only. Wiring and lifecycle live here; behaviour lives
// in learning_core (decisions) and learning_adapters (PostgreSQL, RabbitMQ, HTTP).
//
// Start: block signals -> config (exit 2 listing every error) -> logging -> declare topology
// and connect the database (waiting with back-off while either is down) -> consumer thread
// -> HTTP last.
// SIGTERM/SIGINT: readiness false -> stop consuming (the in-flight delivery is finished and
// settled) -> close AMQP -> close PostgreSQL -> stop HTTP -> exit 0.
#include <cstring>
#include <iostream>
#include <string>

#include <pqxx/pqxx>

#include "common/amqp/errors.hpp"
#include "common/config/reader.hpp"
#include "common/http/server.hpp"
#include "common/log/log.hpp"
#include "common/metrics/registry.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/signals.hpp"
#include "learning-service/app/http_routes.hpp"
#include "learning-service/app/learning_service.hpp"
#include "learning-service/app/settings.hpp"

namespace {

constexpr const char* kUsage =
    "usage: learning-service [--config <file>] [--check-config]\n"
    "  --config <file>   YAML configuration (default config/learning-service.yaml);\n"
    "                    every key may be overridden by PAYNOTIFY_<KEY_PATH> in the environment\n"
    "  --check-config    validate the configuration, print it (secrets redacted) and exit\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace paynotify;
  runtime::BlockTerminationSignals();  // before any thread exists, so all inherit the mask

  std::string config_path = "config/learning-service.yaml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "learning-service: unknown argument '" << argv[i] << "'\n" << kUsage;
      return 2;
    }
  }

  config::Reader reader(config_path);
  learning::LearningSettings settings = learning::ReadLearningSettings(reader);
  try {
    reader.Finish();
  } catch (const config::ConfigErrors& e) {
    std::cerr << "learning-service: invalid configuration (" << e.errors().size() << " error"
              << (e.errors().size() == 1 ? "" : "s") << "):\n"
              << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "configuration " << config_path << " is valid:\n" << reader.Redacted() << "\n";
    return 0;
  }

  log::Init(settings.log);
  auto log = log::Get("learning");
  log->info("starting with configuration from {}:\n{}", config_path, reader.Redacted());

  try {
    metrics::Registry registry;
    learning::LearningService service(settings, registry);
    // The broker or the database may not be up yet (containers start together, servers
    // restart): wait for both with back-off rather than exit, but still stop at once on
    // SIGTERM. A topology mismatch or a refused login is not going to heal: exit.
    runtime::Backoff backoff(settings.broker.reconnect);
    while (true) {
      try {
        service.DeclareTopology();
        service.ConnectDatabase();
        break;
      } catch (const amqp::TopologyMismatch& e) {
        log->critical("topology mismatch: {}; refusing to run with a topology that could lose messages", e.what());
        return 1;
      } catch (const amqp::AmqpError& e) {
        if (!e.retryable) {
          log->critical("broker refused us: {}; exiting", e.what());
          return 1;
        }
        const auto delay = backoff.Next();
        log->warn("start: broker unavailable: {}; will retry in {}ms", e.what(), delay.count());
        if (auto signal = runtime::WaitForTerminationSignalFor(delay)) {
          log->info("received signal {} while starting; exiting", *signal);
          return 0;
        }
      } catch (const pqxx::broken_connection& e) {
        const auto delay = backoff.Next();
        log->warn("start: database unavailable: {}; will retry in {}ms", e.what(), delay.count());
        if (auto signal = runtime::WaitForTerminationSignalFor(delay)) {
          log->info("received signal {} while starting; exiting", *signal);
          return 0;
        }
      }
    }
    service.Start();

    http::Server server(settings.server, registry);
    learning::RegisterRoutes(server, service.Reader());
    server.AddReadinessCheck("broker", [&service] { return service.BrokerConnected(); });
    server.AddReadinessCheck("database", [&service] { return service.DatabaseAvailable(); });
    server.Start();
    log->info("ready: http on {}:{}, consuming queue {}", settings.server.host, server.Port(),
              settings.topology.queue);

    const int signal = runtime::WaitForTerminationSignal();
    log->info("received signal {}; shutting down", signal);
    server.BeginDrain();  // readiness false first, so traffic moves away
    service.Stop();       // finishes and settles the in-flight delivery, closes AMQP then PG
    server.Stop();
    log->info("stopped");
    return 0;
  } catch (const std::exception& e) {
    log->critical("fatal: {}; exiting", e.what());
    return 1;
  }
}

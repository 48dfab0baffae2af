#include "common/daemon/daemon.hpp"

#include <cstring>
#include <iostream>

#include "common/amqp/errors.hpp"
#include "common/pg/errors.hpp"
#include "common/runtime/signals.hpp"

namespace paynotify::daemon {
namespace {

class ProcessSignals final : public Signals {
 public:
  std::optional<int> WaitFor(std::chrono::milliseconds timeout) override {
    return runtime::WaitForTerminationSignalFor(timeout);
  }
  int Wait() override { return runtime::WaitForTerminationSignal(); }
};

std::string Usage(const std::string& name, const std::string& default_config) {
  return "usage: " + name + " [--config <file>] [--check-config]\n" +
         "  --config <file>   YAML configuration (default " + default_config + ");\n" +
         "                    every key may be overridden by PAYNOTIFY_<KEY_PATH> in the environment\n" +
         "  --check-config    validate the configuration, print it (secrets redacted) and exit\n";
}

}  // namespace

bool IsTransient(const std::exception& error) {
  if (dynamic_cast<const amqp::TopologyMismatch*>(&error) != nullptr) return false;
  if (const auto* amqp_error = dynamic_cast<const amqp::AmqpError*>(&error)) return amqp_error->retryable;
  return pg::Classify(error) == pg::ErrorKind::kTransient;
}

int Run(Component& component, runtime::BackoffPolicy start_backoff, Signals& signals,
        const std::string& name) {
  auto log = log::Get(name);
  try {
    // The broker or the database may not be up yet (containers start together, servers
    // restart): wait for them rather than exit, but still stop at once on SIGTERM.
    runtime::Backoff backoff(start_backoff);
    while (true) {
      try {
        component.Connect();
        break;
      } catch (const std::exception& e) {
        if (!IsTransient(e)) {
          // A topology mismatch or a refused login is not going to heal by waiting.
          log->critical("start failed: {}; exiting", pg::Describe(e));
          component.Stop();
          return 1;
        }
        const auto delay = backoff.Next();
        log->warn("start: {}; will retry in {}ms", pg::Describe(e), delay.count());
        if (auto signal = signals.WaitFor(delay)) {
          log->info("received signal {} while starting; exiting", *signal);
          component.Stop();
          return 0;
        }
      }
    }
    component.Start();
    const int signal = signals.Wait();
    log->info("received signal {}; shutting down", signal);
    component.Stop();
    log->info("stopped");
    return 0;
  } catch (const std::exception& e) {
    log->critical("fatal: {}; exiting", pg::Describe(e));
    component.Stop();
    return 1;
  }
}

namespace detail {

int Main(int argc, char** argv, const Erased& spec) {
  std::string config_path = spec.default_config;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << Usage(spec.name, spec.default_config);
      return 0;
    } else {
      std::cerr << spec.name << ": unknown argument '" << argv[i] << "'\n"
                << Usage(spec.name, spec.default_config);
      return 2;
    }
  }

  try {
    // Before any thread exists, so every thread inherits both: consumer threads decode
    // untrusted AMQP header tables recursively (rabbitmq-c), and only sigwait may see
    // SIGTERM/SIGINT.
    runtime::SetDefaultThreadStackSize(spec.thread_stack);
    runtime::BlockTerminationSignals();
  } catch (const std::exception& e) {
    std::cerr << spec.name << ": cannot set up the process: " << e.what() << "\n";
    return 1;
  }

  std::string redacted;
  try {
    config::Reader reader(config_path);
    spec.read_config(reader);
    reader.Finish();
    redacted = reader.Redacted();
  } catch (const config::ConfigErrors& e) {
    std::cerr << spec.name << ": invalid configuration (" << e.errors().size() << " error"
              << (e.errors().size() == 1 ? "" : "s") << "):\n"
              << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    // Not a config error (e.g. out of memory while reading): still an exit status, never
    // std::terminate.
    std::cerr << spec.name << ": cannot read the configuration: " << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << "configuration " << config_path << " is valid:\n" << redacted << "\n";
    return 0;
  }

  std::unique_ptr<Component> component;
  runtime::BackoffPolicy backoff;
  try {
    log::Init(spec.log());
    log::Get(spec.name)->info("starting with configuration from {}:\n{}", config_path, redacted);
    backoff = spec.start_backoff();
    component = spec.build();
  } catch (const std::exception& e) {
    log::Get(spec.name)->critical("fatal: {}; exiting", pg::Describe(e));
    return 1;
  }
  ProcessSignals signals;
  return Run(*component, backoff, signals, spec.name);
}

}  // namespace detail
}  // namespace paynotify::daemon

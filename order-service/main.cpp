// order-service: the composition root. Everything else lives in order_core / order_adapters.
//
//   order-service --config config/order-service.yaml     run
//   order-service --config <file> --check-config         validate the config and exit
// Exit status: 0 after a clean stop (SIGTERM/SIGINT), 2 on bad usage or config (every
// error listed), 1 on an unexpected fatal error.
#include <cstring>
#include <iostream>
#include <string>

#include "common/log/log.hpp"
#include "common/runtime/signals.hpp"
#include "order-service/app/order_config.hpp"
#include "order-service/app/order_service.hpp"

namespace {

int Usage(const char* argv0) {
  std::cerr << "usage: " << argv0 << " --config <file> [--check-config]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace paynotify;
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      Usage(argv[0]);
      return 0;
    } else {
      std::cerr << "unknown argument '" << argv[i] << "'\n";
      return Usage(argv[0]);
    }
  }
  if (config_path.empty()) return Usage(argv[0]);

  // Before any thread exists, so every thread inherits the mask and only sigwait sees them.
  runtime::BlockTerminationSignals();

  order::OrderServiceConfig config;
  try {
    config = order::LoadOrderConfig(config_path);
  } catch (const config::ConfigErrors& errors) {
    std::cerr << "order-service: invalid configuration (" << errors.errors().size() << " error"
              << (errors.errors().size() == 1 ? "" : "s") << "):\n"
              << errors.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "config OK: " << config_path << "\n";
    return 0;
  }

  try {
    log::Init(config.log);
    auto logger = log::Get("order-service");
    logger->info("starting with config {}:\n{}", config_path, config.redacted);
    if (!config.alipay.verify_signature) {
      logger->warn(
          "alipay.verify-signature is false: payment notifications are NOT authenticated; "
          "anyone who can reach this port can mark orders paid. Local demos only.");
    }
    order::OrderService service(std::move(config));
    service.Start();
    const int signal = runtime::WaitForTerminationSignal();
    logger->info("received signal {}; shutting down", signal);
    service.Stop();
    return 0;
  } catch (const std::exception& e) {
    log::Get("order-service")->critical("fatal: {}", e.what());
    return 1;
  }
}

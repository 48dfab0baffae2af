// order-service: the composition root. The daemon skeleton (common/daemon) does the rest:
// arguments, config (exit 2 listing every error), logging, start, and the drain on
// SIGTERM/SIGINT (exit 0).
#include "common/daemon/daemon.hpp"
#include "order-service/app/order_config.hpp"
#include "order-service/app/order_service.hpp"

int main(int argc, char** argv) {
  using namespace paynotify;
  using order::OrderServiceConfig;
  return daemon::Main<OrderServiceConfig>(argc, argv, {
      .name = "order-service",
      .default_config = "config/order-service.yaml",
      .read_config = order::ReadOrderConfig,
      .start_backoff = [](const OrderServiceConfig& c) { return c.rabbitmq.reconnect; },
      .build = [](OrderServiceConfig c) { return std::make_unique<order::OrderService>(std::move(c)); },
  });
}

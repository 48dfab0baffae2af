#pragma once
// Where integration and e2e tests find the real servers.
//
// scripts/test evaluates `scripts/infra env` before running ctest, so every test process
// sees PGHOST/PGPORT/PGUSER/PGPASSWORD, PAYNOTIFY_ORDERS_DB, PAYNOTIFY_LEARNING_DB,
// PAYNOTIFY_AMQP_URL and PAYNOTIFY_INFRA. A missing variable is a test failure (never a skip):
// the accessors below throw MissingEnvironment, which gtest reports as a failed test.
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

namespace paynotify::testing {

struct MissingEnvironment : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Value of an environment variable that scripts/infra env must have set; throws if absent.
std::string RequireEnv(const std::string& name);

/// libpq connection string for one of the project's databases on the local test cluster.
std::string PgConnString(const std::string& dbname);
std::string OrdersDb();    // $PAYNOTIFY_ORDERS_DB
std::string LearningDb();  // $PAYNOTIFY_LEARNING_DB

/// The local broker, parsed from $PAYNOTIFY_AMQP_URL (amqp://user:pass@host:port/vhost).
struct AmqpTestBroker {
  std::string host;
  int port = 5672;
  std::string user;
  std::string password;
  std::string vhost = "/";
};
AmqpTestBroker Broker();

/// A name no other test (or earlier run) uses: prefix + pid + counter + random suffix.
std::string UniqueName(const std::string& prefix);

/// Runs `$PAYNOTIFY_INFRA <args>` (e.g. "rabbitmqctl close_all_connections x",
/// "restart rabbitmq"); returns its exit status, output in *output when given.
int Infra(const std::string& args, std::string* output = nullptr);

/// Polls `condition` every `poll` until it holds or `deadline` passes. No fixed sleeps:
/// tests wait for a state, bounded.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
             std::chrono::milliseconds poll = std::chrono::milliseconds(20));

}  // namespace paynotify::testing

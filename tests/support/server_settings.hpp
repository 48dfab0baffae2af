#pragma once
// The local servers (test_env.hpp) as the settings the adapters under test take: one place
// that turns the environment `scripts/infra env` sets into amqp::BrokerSettings and
// pg::PgSettings. Each caller then tunes what its tests need (heartbeat, back-off, timeouts).
// Header-only: both are plain structs of common/amqp and common/pg, which every user links.
#include <string>
#include <utility>

#include "common/amqp/settings.hpp"
#include "common/pg/settings.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::testing {

/// The local broker ($PAYNOTIFY_AMQP_URL), shown to it as `connection_name`; the library's
/// defaults for everything else. Throws MissingEnvironment like Broker().
inline amqp::BrokerSettings BrokerSettingsFromEnv(std::string connection_name) {
  const AmqpTestBroker b = Broker();
  amqp::BrokerSettings s;
  s.addresses = {amqp::BrokerAddress{b.host, b.port}};
  s.username = b.user;
  s.password = b.password;
  s.virtual_host = b.vhost;
  s.connection_name = std::move(connection_name);
  return s;
}

/// `dbname` on the local cluster ($PGHOST, $PGPORT, $PGUSER, $PGPASSWORD), its backends named
/// `application_name` in pg_stat_activity; the library's defaults for everything else.
/// Throws MissingEnvironment like RequireEnv().
inline pg::PgSettings PgSettingsFromEnv(std::string dbname, std::string application_name) {
  pg::PgSettings s;
  s.host = RequireEnv("PGHOST");
  s.port = std::stoi(RequireEnv("PGPORT"));
  s.user = RequireEnv("PGUSER");
  s.password = RequireEnv("PGPASSWORD");
  s.dbname = std::move(dbname);
  s.application_name = std::move(application_name);
  return s;
}

}  // namespace paynotify::testing

#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/runtime/backoff.hpp"

namespace paynotify::config {
class Reader;
}

namespace paynotify::pg {

/// How to reach one PostgreSQL database. A value type; copy freely.
struct PgSettings {
  std::string host = "localhost";  ///< host name, IP address or Unix-socket directory
  int port = 5432;
  std::string user;                ///< empty: libpq's default (PGUSER, then the OS user)
  std::string password;            ///< never logged; empty: libpq's PGPASSWORD / ~/.pgpass
  std::string dbname;
  std::string application_name;    ///< shown in pg_stat_activity
  int connect_timeout_s = 5;       ///< bounds each connection attempt (libpq connect_timeout)
  /// TCP keepalive idle time, so a peer that vanished without a FIN (host crash, cable) is
  /// noticed by a blocked LISTEN wait or query. 0 = the OS default.
  int keepalives_idle_s = 30;
  /// Delay between reconnect attempts (ConnectionHolder users, NotifyListener).
  runtime::BackoffPolicy reconnect{std::chrono::milliseconds(500), 2.0, std::chrono::milliseconds(10000)};

  /// libpq keyword/value connection string. Every value is single-quoted, with quotes and
  /// backslashes escaped by a backslash, so spaces, quotes and "=" in a password are safe;
  /// empty optional values (user, password, dbname, application_name) are left out.
  std::string ConnString() const;
  /// Where it points, without the password and the tuning options
  /// ("host='db' port='5432' dbname='orders' user='app' application_name='relay'"), for logs.
  std::string Redacted() const;
};

/// Reads the settings under `prefix` (e.g. "database"):
///   <prefix>.host (localhost), <prefix>.port (5432), <prefix>.user (""),
///   <prefix>.password (optional secret: value, env PAYNOTIFY_<PREFIX>_PASSWORD or
///     <prefix>.password-file; when absent libpq falls back to PGPASSWORD / ~/.pgpass),
///   <prefix>.dbname (required), <prefix>.application-name (default_application_name),
///   <prefix>.connect-timeout (5s, at least 1s, whole seconds), <prefix>.keepalives-idle (30s),
///   <prefix>.reconnect.initial-interval (500ms), <prefix>.reconnect.multiplier (2.0),
///   <prefix>.reconnect.max-interval (10s).
/// Invalid values are recorded on the reader and reported together by Reader::Finish().
PgSettings ReadPgSettings(config::Reader& reader, std::string_view prefix,
                          std::string default_application_name = "paynotify");

}  // namespace paynotify::pg

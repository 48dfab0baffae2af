#include "common/pg/connection.hpp"

#include <exception>
#include <string>
#include <utility>

#include <libpq-fe.h>

#include "common/log/log.hpp"
#include "common/pg/errors.hpp"
#include "common/runtime/resolve.hpp"

namespace paynotify::pg {

namespace {

// libpq resolves `host` with getaddrinfo before connect_timeout starts counting, so a DNS that
// does not answer (a container's name while it restarts, an offline upstream) holds the caller
// for tens of seconds. The name is resolved here within connect_timeout instead and handed to
// libpq as hostaddr (libpq then connects to those addresses and keeps `host` for pgpass and
// TLS). A socket directory ('/...', or '@...' abstract), a host list or a numeric address is
// left to libpq as it is. Throws HostLookupFailed.
std::string ConnStringWithAddresses(const PgSettings& settings) {
  const std::string& host = settings.host;
  if (host.empty() || host.front() == '/' || host.front() == '@' || host.find(',') != std::string::npos) {
    return settings.ConnString();
  }
  const runtime::ResolveResult resolved =
      runtime::ResolveWithDeadline(host, std::chrono::seconds(settings.connect_timeout_s));
  if (!resolved.ok()) {
    throw HostLookupFailed("could not connect to the database (" + settings.Redacted() + "): " + resolved.error);
  }
  if (resolved.addresses.size() == 1 && resolved.addresses.front() == host) return settings.ConnString();
  // One host entry per address: libpq pairs the host and hostaddr lists item by item and tries
  // them in order, as it would have tried the addresses of the name.
  std::string hosts;
  std::string addresses;
  for (const std::string& address : resolved.addresses) {
    if (!hosts.empty()) {
      hosts += ',';
      addresses += ',';
    }
    hosts += host;
    addresses += address;
  }
  PgSettings resolved_settings = settings;
  resolved_settings.host = hosts;
  return resolved_settings.ConnString() + " hostaddr='" + addresses + "'";
}

}  // namespace

std::unique_ptr<pqxx::connection> Connect(const PgSettings& settings) {
  auto conn = std::make_unique<pqxx::connection>(ConnStringWithAddresses(settings));
  // inhibit_reactivation is marked deprecated in 6.4 (reactivation itself went away in 7.0),
  // but it is the only way to make a broken connection stay broken in this version.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  return conn;
}

ConnectionHolder::ConnectionHolder(PgSettings settings, OnConnect on_connect)
    : settings_(std::move(settings)), on_connect_(std::move(on_connect)) {}

ConnectionHolder::~ConnectionHolder() { Invalidate(); }

pqxx::connection& ConnectionHolder::Get() {
  if (conn_ && conn_->is_open()) return *conn_;
  // Whoever saw the break (a caught exception) logged it; here we only replace the connection.
  Invalidate();
  auto conn = Connect(settings_);
  if (on_connect_) on_connect_(*conn);
  conn_ = std::move(conn);
  connected_.store(true, std::memory_order_relaxed);
  log::Get("pg")->info("connected backend_pid={} {}", conn_->backendpid(), settings_.Redacted());
  return *conn_;
}

void ConnectionHolder::Invalidate() noexcept {
  connected_.store(false, std::memory_order_relaxed);
  conn_.reset();  // pqxx::connection's destructor closes the socket and never throws
}

bool ConnectionHolder::HasOpenConnection() noexcept {
  const bool open = conn_ && conn_->is_open();
  connected_.store(open, std::memory_order_relaxed);
  return open;
}

void ConnectAtStart(ConnectionHolder& holder) {
  try {
    holder.Get();
  } catch (const HostLookupFailed&) {
    throw;  // nothing answered the name: there is no server to ping
  } catch (const pqxx::broken_connection& e) {
    const std::exception_ptr original = std::current_exception();
    // The name resolved a moment ago; should it hang now, the ping's lookup is bounded too.
    std::string conn_string;
    try {
      conn_string = ConnStringWithAddresses(holder.Settings());
    } catch (const HostLookupFailed&) {
      std::rethrow_exception(original);  // the connection's own failure is the one to report
    }
    if (PQping(conn_string.c_str()) == PQPING_OK) {
      throw LoginRefused("the database server refused the login (" + holder.Settings().Redacted() +
                         "): " + Describe(e));
    }
    throw;
  }
}

}  // namespace paynotify::pg

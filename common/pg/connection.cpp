#include "common/pg/connection.hpp"

#include <utility>

#include <libpq-fe.h>

#include "common/log/log.hpp"
#include "common/pg/errors.hpp"

namespace paynotify::pg {

std::unique_ptr<pqxx::connection> Connect(const PgSettings& settings) {
  auto conn = std::make_unique<pqxx::connection>(settings.ConnString());
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
  } catch (const pqxx::broken_connection& e) {
    if (PQping(holder.Settings().ConnString().c_str()) == PQPING_OK) {
      throw LoginRefused("the database server refused the login (" + holder.Settings().Redacted() +
                         "): " + Describe(e));
    }
    throw;
  }
}

}  // namespace paynotify::pg

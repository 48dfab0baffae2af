#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>

#include <pqxx/connection>

#include "common/pg/settings.hpp"

namespace paynotify::pg {

/// Opens a new connection. Throws pqxx::broken_connection when the server cannot be reached
/// or rejects the login (libpq's message, never the password), and other pqxx::failure
/// subclasses for an unsupported server. Bounded by settings.connect_timeout_s.
///
/// libpqxx 6 would otherwise reconnect a broken connection silently on next use (losing
/// session state mid-way and hiding the break); the returned connection has that automatic
/// "reactivation" switched off, so a break surfaces as pqxx::broken_connection and the owner
/// (ConnectionHolder, NotifyListener) replaces the connection explicitly.
std::unique_ptr<pqxx::connection> Connect(const PgSettings& settings);

/// Connect() could not resolve the host name within connect_timeout_s (it resolves names
/// itself: libpq's own lookup has no time limit). A broken_connection like any unreachable
/// server, so every caller's handling applies; its own type only so that ConnectAtStart does
/// not look the name up a second time.
class HostLookupFailed : public pqxx::broken_connection {
 public:
  using pqxx::broken_connection::broken_connection;
};

/// Owns at most one connection for one worker thread: connects lazily on Get(), replaces a
/// connection that is no longer open, and drops it on Invalidate() (after a connection loss or
/// an in-doubt commit). Not thread-safe, except IsConnected() which any thread (e.g. a /readyz
/// check) may call.
///
/// Prepared statements: register them in `on_connect` (conn.prepare(name, sql)); it runs for
/// every new connection, before Get() returns it. If it throws, the new connection is
/// discarded and the exception propagates from Get().
class ConnectionHolder {
 public:
  using OnConnect = std::function<void(pqxx::connection&)>;

  explicit ConnectionHolder(PgSettings settings, OnConnect on_connect = {});
  ConnectionHolder(const ConnectionHolder&) = delete;
  ConnectionHolder& operator=(const ConnectionHolder&) = delete;
  ~ConnectionHolder();

  /// The open connection, connecting first if there is none or the current one is broken.
  /// Throws what Connect() or on_connect throw. The reference stays valid until the next
  /// Get() that reconnects, Invalidate(), or destruction.
  pqxx::connection& Get();

  /// Drops the current connection (no-op without one). No transaction on it may still be
  /// alive. Never throws.
  void Invalidate() noexcept;

  /// True while a connection is held and was open when last checked (Get/Invalidate/
  /// HasOpenConnection). Thread-safe, cheap, does no I/O: a break is noticed on next use.
  bool IsConnected() const noexcept { return connected_.load(std::memory_order_relaxed); }

  /// True if a connection is held and libpq still considers it open (no I/O). Owner thread.
  bool HasOpenConnection() noexcept;

  const PgSettings& Settings() const noexcept { return settings_; }

 private:
  PgSettings settings_;
  OnConnect on_connect_;
  std::unique_ptr<pqxx::connection> conn_;
  std::atomic<bool> connected_{false};
};

/// The server accepts connections but refused ours: wrong password, pg_hba.conf, unknown
/// database or role. Deliberately not a pqxx exception, so Classify() calls it permanent.
class LoginRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Connects `holder` at start-up, telling "refused us" from "not there yet". libpq reports a
/// wrong password and a server that is down alike (pqxx::broken_connection, no SQLSTATE), so
/// after such a failure the server is asked with PQping: when it answers that it accepts
/// connections, ours was refused -> LoginRefused (the daemon exits 1 instead of retrying a
/// password forever); otherwise the broken_connection propagates (transient: down, starting,
/// shutting down). For start-up only: at run time a refused reconnect stays a connection loss,
/// so no message is dead-lettered because of an operator's password change. PQping also
/// answers "accepts" when the server is out of connection slots (53300); the daemon then
/// exits 1 and its supervisor starts it again.
void ConnectAtStart(ConnectionHolder& holder);

}  // namespace paynotify::pg

#pragma once
/// The one translator of libpqxx failures (STYLE.md 3.2, 8): every adapter that runs work on
/// PostgreSQL catches std::exception around it and calls Translate(), which classifies the
/// error (Classify), decides whether the connection is gone and drops it, and returns what
/// the adapter maps to its own error type (order's StoreError, learning's RepositoryError,
/// the outbox's OutboxUnavailable). The mapping is policy and stays in each daemon; what a
/// libpqxx exception means is decided here, once.
#include <exception>
#include <string>

#include "common/pg/connection.hpp"
#include "common/pg/errors.hpp"

namespace paynotify::pg {

/// What a failed unit of database work means.
struct Failure {
  /// Classify(error), with one correction: when the connection is gone, a failure Classify
  /// calls permanent is transient, unless it is an SQL error (the server's own answer).
  /// libpqxx 6 reports some breaks as a bare pqxx::failure ("server closed the connection
  /// unexpectedly" when a statement is sent on a socket the server closed); the dead
  /// connection says what it was.
  ErrorKind kind = ErrorKind::kPermanent;
  /// The connection is gone or its state is unknown: a connection loss (IsConnectionLoss), an
  /// in-doubt commit, or a connection that is no longer open whatever the exception says.
  /// The holder overload of Translate() has dropped it; the next Get() reconnects.
  bool connection_lost = false;
  /// Describe(error): one line, with the SQLSTATE. For logs only: it can name hosts, users
  /// and quote values, so it is never sent to a client.
  std::string detail;
};

/// Translates a failure of work on `holder`'s connection and, when the connection is lost
/// (see Failure::connection_lost), drops it (holder.Invalidate()). Call it from the catch
/// block after every transaction on that connection has been destroyed. Never throws.
Failure Translate(const std::exception& error, ConnectionHolder& holder) noexcept;

/// Translates a failure that involved no held connection (connecting, waiting for a pooled
/// one) or whose connection the caller drops itself when `connection_lost` says so.
Failure Translate(const std::exception& error) noexcept;

}  // namespace paynotify::pg

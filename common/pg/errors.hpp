#pragma once
/// One place that decides what a libpqxx exception means for the caller (STYLE.md 3.2).
#include <exception>
#include <string>
#include <string_view>

namespace paynotify::pg {

enum class ErrorKind {
  /// Try again after a back-off: the connection was lost (pqxx::broken_connection, SQLSTATE
  /// class 08, 57P01..57P03 server shutting down, 53300 too many connections) or the server
  /// rolled the transaction back (pqxx::transaction_rollback: 40001 serialization failure,
  /// 40P01 deadlock), or no pooled connection was free in time (PoolTimeout). Nothing of the
  /// failed transaction was committed.
  kTransient,
  /// pqxx::unique_violation (23505): the row is already there — an idempotency hit.
  kDuplicate,
  /// The outcome is unknown: pqxx::in_doubt_error (connection lost during COMMIT) or
  /// pqxx::statement_completion_unknown (40003). Re-read the state; never blind-retry.
  kInDoubt,
  /// Anything else: other pqxx::sql_error (constraint, syntax, permission...), pqxx usage or
  /// conversion errors, and every std::exception not from libpqxx. Retrying will not help.
  kPermanent,
};

/// Classifies an exception caught around libpqxx calls. Pure; thread-safe.
ErrorKind Classify(const std::exception& error);

/// True for errors that mean the connection is gone and must be replaced:
/// pqxx::broken_connection, SQLSTATE class 08, 57P01..57P03, and pqxx::in_doubt_error.
bool IsConnectionLoss(const std::exception& error);

/// "transient", "duplicate", "in-doubt", "permanent" (for logs and metrics labels).
std::string_view ToString(ErrorKind kind);

/// The SQLSTATE of a pqxx::sql_error, or "" for any other exception.
std::string SqlState(const std::exception& error);

/// what() on one line (libpq messages end in newlines and carry DETAIL/HINT lines), with
/// " sqlstate=XXXXX" appended for SQL errors. For log lines.
std::string Describe(const std::exception& error);

}  // namespace paynotify::pg

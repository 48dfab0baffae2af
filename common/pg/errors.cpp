#include "common/pg/errors.hpp"

#include <pqxx/except>

#include "common/pg/pool.hpp"

namespace paynotify::pg {

namespace {

// libpqxx 6.4 maps only some SQLSTATEs to exception classes; the rest arrive as a plain
// sql_error, so the codes that mean "connection gone" are recognised here as well.
bool IsConnectionLossState(std::string_view state) {
  return state.substr(0, 2) == "08" ||  // connection exception
         state == "57P01" ||            // admin_shutdown (also pg_terminate_backend)
         state == "57P02" ||            // crash_shutdown
         state == "57P03";              // cannot_connect_now (starting up / shutting down)
}

bool IsTransientState(std::string_view state) {
  return IsConnectionLossState(state) ||
         state == "40001" ||  // serialization_failure
         state == "40P01" ||  // deadlock_detected
         state == "55P03" ||  // lock_not_available (lock_timeout, NOWAIT): the holder may let go
         state == "53300";    // too_many_connections
}

}  // namespace

std::string SqlState(const std::exception& error) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) return sql->sqlstate();
  return {};
}

ErrorKind Classify(const std::exception& error) {
  // Order matters: statement_completion_unknown is a transaction_rollback, but a statement
  // that may or may not have taken effect must not be repeated blindly.
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) return ErrorKind::kInDoubt;
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&error) != nullptr) {
    return ErrorKind::kInDoubt;
  }
  if (dynamic_cast<const pqxx::unique_violation*>(&error) != nullptr) return ErrorKind::kDuplicate;
  if (dynamic_cast<const PoolTimeout*>(&error) != nullptr) return ErrorKind::kTransient;
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return ErrorKind::kTransient;
  if (dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) return ErrorKind::kTransient;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    if (sql->sqlstate() == "23505") return ErrorKind::kDuplicate;
    if (sql->sqlstate() == "40003") return ErrorKind::kInDoubt;
    if (IsTransientState(sql->sqlstate())) return ErrorKind::kTransient;
  }
  return ErrorKind::kPermanent;
}

bool IsConnectionLoss(const std::exception& error) {
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    return IsConnectionLossState(sql->sqlstate());
  }
  return false;
}

std::string Describe(const std::exception& error) {
  std::string text;
  bool pending_space = false;
  for (const char c : std::string_view(error.what())) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      pending_space = !text.empty();
      continue;
    }
    if (pending_space) text.push_back(' ');
    pending_space = false;
    text.push_back(c);
  }
  if (const std::string state = SqlState(error); !state.empty()) text += " sqlstate=" + state;
  return text;
}

std::string_view ToString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTransient:
      return "transient";
    case ErrorKind::kDuplicate:
      return "duplicate";
    case ErrorKind::kInDoubt:
      return "in-doubt";
    case ErrorKind::kPermanent:
      return "permanent";
  }
  return "unknown";
}

}  // namespace paynotify::pg

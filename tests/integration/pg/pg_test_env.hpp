#pragma once
// Shared helpers for the PostgreSQL integration tests (real local cluster from scripts/infra).
#include <memory>
#include <string>

#include <pqxx/connection>

#include "common/pg/settings.hpp"

namespace paynotify::pg::testing {

/// Settings for the orders database of the local test cluster ($PGHOST, $PGPORT, ...), with
/// `application_name` so a test can find its own backends in pg_stat_activity.
PgSettings OrdersSettings(const std::string& application_name = "paynotify-pg-test");

/// A plain connection for test set-up and assertions (not under test).
std::unique_ptr<pqxx::connection> Admin();

/// pg_terminate_backend(pid) from another connection, then waits (bounded) until the backend
/// is gone, so the victim's next use of its socket fails.
void TerminateBackend(int pid);

/// The pids of backends with this application_name.
std::vector<int> BackendsOf(const std::string& application_name);

/// A table with a unique name in the orders database, dropped on destruction.
class ScopedTable {
 public:
  /// `columns` is the column list, e.g. "id int PRIMARY KEY, v int NOT NULL".
  explicit ScopedTable(const std::string& columns);
  ~ScopedTable();
  /// The quoted name, ready to splice into SQL.
  const std::string& Name() const { return quoted_; }

 private:
  std::string quoted_;
};

}  // namespace paynotify::pg::testing

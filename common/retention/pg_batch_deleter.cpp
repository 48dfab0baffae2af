#include "common/retention/pg_batch_deleter.hpp"

#include <stdexcept>

#include <pqxx/pqxx>

#include "common/pg/failure.hpp"

namespace paynotify::retention {

namespace {
constexpr const char* kStatementName = "retention_delete_batch";
}

PgBatchDeleter::PgBatchDeleter(pg::PgSettings settings, std::string statement, PgBatchLimits limits)
    : holder_(std::move(settings), [statement = std::move(statement), limits](pqxx::connection& conn) {
        // Session settings, restored by libpqxx on its own only with reactivation, which is off:
        // a new connection runs this again.
        conn.set_variable("lock_timeout", std::to_string(limits.lock_timeout.count()));
        conn.set_variable("statement_timeout", std::to_string(limits.statement_timeout.count()));
        conn.prepare(kStatementName, statement);
      }) {}

size_t PgBatchDeleter::DeleteBatch(std::chrono::milliseconds older_than, size_t limit) {
  try {
    pqxx::connection& conn = holder_.Get();
    size_t deleted = 0;
    {
      pqxx::work tx(conn, "retention");
      const pqxx::result r = tx.exec_prepared(kStatementName, static_cast<int64_t>(older_than.count()),
                                              static_cast<int64_t>(limit));
      deleted = static_cast<size_t>(r.affected_rows());
      tx.commit();
    }
    return deleted;
  } catch (const std::exception& e) {
    // The transaction is gone (destroyed = rolled back) before the translation drops the
    // connection.
    const pg::Failure failure = pg::Translate(e, holder_);
    throw std::runtime_error(std::string(pg::ToString(failure.kind)) + ": " + failure.detail);
  }
}

}  // namespace paynotify::retention

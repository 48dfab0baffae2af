#include "common/pg/retry.hpp"

#include <pqxx/except>

#include "common/log/log.hpp"

namespace paynotify::pg::internal {

ErrorKind AfterFailure(ConnectionHolder& holder, const std::exception& error) {
  ErrorKind kind = Classify(error);
  const bool lost = IsConnectionLoss(error) || !holder.HasOpenConnection();
  if (lost) {
    holder.Invalidate();
    // libpqxx 6 reports some breaks as a bare pqxx::failure (e.g. PQsendQuery failing on a
    // closed socket); the dead connection tells us what it was.
    if (kind == ErrorKind::kPermanent && dynamic_cast<const pqxx::failure*>(&error) != nullptr &&
        dynamic_cast<const pqxx::sql_error*>(&error) == nullptr) {
      kind = ErrorKind::kTransient;
    }
  }
  return kind;
}

void LogRetry(const std::exception& error, int attempt, int max_attempts,
              std::chrono::milliseconds delay) {
  log::Get("pg")->warn("transient error attempt={}/{}: {}; will retry in {}ms", attempt,
                       max_attempts, Describe(error), delay.count());
}

}  // namespace paynotify::pg::internal

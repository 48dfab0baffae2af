#pragma once
/// Retrying a unit of database work, in the spirit of libpqxx's transactor perform(): run it,
/// and if it failed in a way that cannot have committed anything, run it again.
#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <stop_token>
#include <type_traits>

#include <pqxx/connection>

#include "common/pg/connection.hpp"
#include "common/pg/errors.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/stop.hpp"

namespace paynotify::pg {

namespace internal {
/// After `work` threw: drops the holder's connection if it is gone, and returns how the
/// failure is to be treated. A non-SQL pqxx::failure on a connection that is no longer open
/// ("server closed the connection unexpectedly") counts as transient.
ErrorKind AfterFailure(ConnectionHolder& holder, const std::exception& error);
/// Logs "transient error attempt=N/M ...; will retry in Xms" on the "pg" logger.
void LogRetry(const std::exception& error, int attempt, int max_attempts,
              std::chrono::milliseconds delay);
}  // namespace internal

/// Runs `work(pqxx::connection&)` on the holder's connection (connecting first if needed) and
/// returns its result. On failure:
///  - transient (see ErrorKind; including a failed connect): the connection is replaced if it
///    was lost, and `work` runs again after DelayForAttempt(backoff, attempt), up to
///    `max_attempts` runs in all (values below 1 mean 1);
///  - duplicate, permanent: rethrown at once;
///  - in doubt (connection lost during COMMIT): the connection is dropped and the error
///    rethrown — never retried blindly; the caller re-reads the state and decides.
/// When the attempts are used up, or `stop` is requested (the back-off sleep wakes at once),
/// the last error is rethrown. Each retry is logged once (warn) with its delay; the final
/// error is left to the caller to log.
///
/// Contract for `work`: open its own transaction (pqxx::work) and commit it before returning;
/// everything it does must be inside that transaction, so that a transient failure leaves
/// nothing behind and running it again is safe. No transaction may outlive the call.
template <class F>
auto RunWithRetry(ConnectionHolder& holder, const runtime::BackoffPolicy& backoff, int max_attempts,
                  std::stop_token stop, F&& work) -> std::invoke_result_t<F&, pqxx::connection&> {
  const int attempts = std::max(1, max_attempts);
  for (int attempt = 1;; ++attempt) {
    try {
      return std::invoke(work, holder.Get());
    } catch (const std::exception& error) {
      const ErrorKind kind = internal::AfterFailure(holder, error);
      if (kind != ErrorKind::kTransient || attempt >= attempts || stop.stop_requested()) throw;
      const std::chrono::milliseconds delay = runtime::DelayForAttempt(backoff, attempt);
      internal::LogRetry(error, attempt, attempts, delay);
      if (!runtime::SleepFor(stop, delay)) throw;
    }
  }
}

}  // namespace paynotify::pg

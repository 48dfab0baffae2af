#pragma once
// One statement against a database of the local cluster, for what tests, the e2e harness
// and the bench set up or read around the code under test (never that code's own SQL): its
// own connection and transaction, committed. Header-only: its users link libpqxx.
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_env.hpp"

namespace paynotify::testing {

/// Runs `exec(tx)` in a transaction of its own on `dbname`, commits it and returns what
/// `exec` returned; nothing is committed when it throws.
template <class Exec>
auto InOwnTransaction(const std::string& dbname, Exec&& exec) {
  pqxx::connection conn(PgConnString(dbname));
  pqxx::work tx(conn);
  auto out = exec(tx);
  tx.commit();
  return out;
}

/// Runs `sql` with `params` ($1, $2, ...) on `dbname` (e.g. OrdersDb()) in a transaction of
/// its own, commits it and returns the rows. Throws what libpqxx throws.
template <class... Params>
pqxx::result ExecCommitted(const std::string& dbname, const std::string& sql, Params&&... params) {
  return InOwnTransaction(dbname, [&](pqxx::work& tx) { return tx.exec_params(sql, std::forward<Params>(params)...); });
}

/// ExecCommitted for a statement that yields exactly one row (INSERT ... RETURNING id,
/// SELECT count(*)); throws pqxx::unexpected_rows, committing nothing, for any other number.
template <class... Params>
pqxx::row ExecCommitted1(const std::string& dbname, const std::string& sql, Params&&... params) {
  return InOwnTransaction(dbname, [&](pqxx::work& tx) { return tx.exec_params1(sql, std::forward<Params>(params)...); });
}

/// The first column of `rows` as bigints: the ids an INSERT ... RETURNING made, in row order.
inline std::vector<int64_t> FirstColumn(const pqxx::result& rows) {
  std::vector<int64_t> values;
  values.reserve(rows.size());
  for (const auto& row : rows) values.push_back(row[0].as<int64_t>());
  return values;
}

}  // namespace paynotify::testing

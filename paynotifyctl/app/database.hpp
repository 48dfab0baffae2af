#pragma once
/// One database connection for the length of one paynotifyctl command.
#include <memory>
#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "common/pg/settings.hpp"
#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

class Database {
 public:
  /// Connects at once (bounded by database.connect-timeout), as application "paynotifyctl"
  /// with a statement and lock timeout, so the tool never hangs behind a lock or a runaway
  /// query. `name` ("orders database") goes into messages. Throws Unavailable when the
  /// server cannot be reached or refuses the login (the message names the database,
  /// settings.Redacted(), and libpq's reason, escaped).
  Database(std::string name, pg::PgSettings settings);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs `work(connection)`. A lost connection or an unreachable server becomes Unavailable;
  /// any other libpqxx error a std::runtime_error with the escaped, one-line description
  /// (pg::Describe): the command then fails with exit 1.
  template <class Work>
  auto Run(Work&& work) {
    try {
      return std::forward<Work>(work)(*conn_);
    } catch (const Unavailable&) {
      throw;
    } catch (const NotFound&) {
      throw;
    } catch (const UsageError&) {
      throw;
    } catch (const std::exception& e) {
      Rethrow(e);
    }
  }

  const std::string& Name() const { return name_; }

 private:
  [[noreturn]] void Rethrow(const std::exception& error) const;

  std::string name_;
  pg::PgSettings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace paynotify::ctl

#include "paynotifyctl/app/database.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "common/pg/connection.hpp"
#include "common/pg/errors.hpp"
#include "common/text/escape.hpp"

namespace paynotify::ctl {

namespace {

constexpr size_t kReasonLimit = 512;

// Long enough for any one query of the tool on a large outbox; a requeue waits at most
// lock_timeout for a row the relay holds (its batch ends within relay.confirm-timeout).
constexpr std::string_view kSessionSettings = "SET statement_timeout = '60s'; SET lock_timeout = '30s'";

}  // namespace

Database::Database(std::string name, pg::PgSettings settings) : name_(std::move(name)), settings_(std::move(settings)) {
  settings_.application_name = "paynotifyctl";
  try {
    conn_ = pg::Connect(settings_);
    pqxx::nontransaction tx(*conn_);
    tx.exec0(std::string(kSessionSettings));
  } catch (const std::exception& e) {
    Rethrow(e);
  }
}

Database::~Database() = default;

void Database::Rethrow(const std::exception& error) const {
  const std::string reason = text::Printable(pg::Describe(error), kReasonLimit);
  if (pg::IsConnectionLoss(error)) {
    throw Unavailable(fmt::format("cannot reach the {} ({}): {}", name_, text::Printable(settings_.Redacted()), reason));
  }
  throw std::runtime_error(fmt::format("{}: {}", name_, reason));
}

}  // namespace paynotify::ctl

#pragma once
// Fixture for paynotifyctl integration tests: a private schema in the orders database and one
// of the same name in the learning database (this tree's migrations), config files like an
// operator's pointing at the local servers, and paynotifyctl run as a child process with the
// password from the environment (as scripts/ctl gives it) and PGOPTIONS selecting the schema.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/program_run.hpp"

namespace paynotify::ctl::testing {

/// One finished paynotifyctl run, and one still running (tests/support/program_run.hpp).
using CtlRun = paynotify::testing::ProgramRun;
using CtlChild = paynotify::testing::RunningProgram;

struct OutboxRow {
  int64_t id = 0;
  std::string message_id;
};

class CtlIt : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Runs paynotifyctl with the test's config files first (arguments may override them).
  CtlRun Ctl(std::vector<std::string> args);
  CtlChild Start(std::vector<std::string> args);

  /// One statement (or several) in the test schema of the orders / learning database.
  pqxx::result Orders(const std::string& sql);
  pqxx::result Learning(const std::string& sql);
  /// A connection whose search_path is the test schema of `dbname` (for holding locks).
  std::unique_ptr<pqxx::connection> Connect(const std::string& dbname) const;

  /// An order for selection `selection` with a pay record, paid or not; returns pay_no.
  int64_t InsertPayment(const std::string& selection, const std::string& user, bool paid);
  /// An outbox row for businessKey1 `key`: due now, or backing off for `backoff_s` seconds,
  /// or parked; with `attempts` and `error`.
  OutboxRow InsertOutbox(const std::string& key, int attempts = 0, int backoff_s = 0, bool parked = false,
                         const std::string& error = "");
  /// The same row as published with relay.keep-history on.
  OutboxRow InsertHistory(const std::string& key);
  /// A course selection in the learning database: 701002 awaiting payment or 701001 selected.
  int64_t InsertSelection(const std::string& user, int64_t course_id, bool selected);
  /// What learning-service does when it applies a message: inbox row, selection selected,
  /// course-table row.
  void Apply(int64_t selection, const std::string& message_key);

  /// Extra environment for the child (e.g. PAYNOTIFY_RABBITMQ_PASSWORD).
  std::map<std::string, std::string> extra_env_;
  std::filesystem::path dir_;
  std::string schema_;
  std::string orders_config_;
  std::string learning_config_;
};

}  // namespace paynotify::ctl::testing

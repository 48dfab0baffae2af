#pragma once
/// PostgreSQL adapter of EnrollmentRepository (inbox + apply of a batch in one transaction), and the
/// read side used by the HTTP API.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/pg/connection.hpp"
#include "common/pg/settings.hpp"
#include "learning-service/enrollment/enrollment_repository.hpp"

namespace paynotify::learning {

/// Applies payment results on its own connection (connected lazily, replaced after a loss).
/// Error translation: connection lost / cannot connect / commit outcome unknown ->
/// FailureKind::kUnavailable (safe to apply again: the inbox row commits with the change);
/// serialization failure, deadlock, too many connections -> kTransient; anything else ->
/// kPermanent. One thread only (the consumer's); IsConnected() from any thread.
class PgEnrollmentRepository final : public EnrollmentRepository {
 public:
  explicit PgEnrollmentRepository(pg::PgSettings settings);

  std::vector<ApplyResult> ApplyBatch(std::span<const PaymentApplication> applications) override;

  /// Connects now (start-up check): pg::LoginRefused when the server refused us (permanent),
  /// pqxx::broken_connection when it is not there yet (see pg::ConnectAtStart).
  void Connect();
  bool IsConnected() const noexcept { return holder_.IsConnected(); }
  void Close() noexcept { holder_.Invalidate(); }

 private:
  pg::ConnectionHolder holder_;
};

/// Read-only queries for GET /choosecourse/{id} and GET /coursetables. Thread-safe (HTTP
/// handler threads share one connection under a mutex; reads are short). Throws
/// RepositoryError (kUnavailable when the database cannot be reached).
class PgEnrollmentReader {
 public:
  explicit PgEnrollmentReader(pg::PgSettings settings);

  /// The selection as a JSON object (column names as in xc_choose_course), or nullopt.
  std::optional<nlohmann::json> FindSelection(int64_t id);
  /// The learner's course-table rows as a JSON array (ordered by id).
  nlohmann::json CourseTables(const std::string& user_id);
  void Close() noexcept;

 private:
  std::mutex mutex_;
  pg::ConnectionHolder holder_;
};

}  // namespace paynotify::learning

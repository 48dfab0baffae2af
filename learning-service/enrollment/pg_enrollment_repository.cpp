#include "learning-service/enrollment/pg_enrollment_repository.hpp"

#include <string_view>

#include <pqxx/pqxx>

#include "common/pg/errors.hpp"

namespace paynotify::learning {
namespace {

// The inbox: a key already present means the message was applied before (0 rows inserted).
constexpr std::string_view kInsertInbox =
    "INSERT INTO processed_message (message_key) VALUES ($1) ON CONFLICT DO NOTHING";
// Locks the selection so concurrent consumers (several replicas) apply one at a time.
constexpr std::string_view kLockSelection = "SELECT status FROM xc_choose_course WHERE id = $1 FOR UPDATE";
// 701002 awaiting payment -> 701001 selected, valid from now for valid_days. A selection
// already at 701001 keeps its validity.
constexpr std::string_view kMarkSelected =
    "UPDATE xc_choose_course SET status = '701001', validtime_start = now(), "
    "validtime_end = now() + make_interval(days => valid_days) "
    "WHERE id = $1 AND status = '701002'";
// The learner's course. No conflict target on purpose: both unique constraints
// (choose_course_id, and (user_id, course_id) - the learner has this course already through
// another selection) mean "nothing to add".
constexpr std::string_view kAddCourseTable =
    "INSERT INTO xc_course_tables (choose_course_id, user_id, course_id, company_id, course_name, "
    "course_type, create_date, validtime_start, validtime_end, update_date) "
    "SELECT id, user_id, course_id, company_id, course_name, order_type, now(), "
    "COALESCE(validtime_start, now()), COALESCE(validtime_end, now() + make_interval(days => valid_days)), now() "
    "FROM xc_choose_course WHERE id = $1 "
    "ON CONFLICT DO NOTHING";

constexpr std::string_view kTimestampJson = "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

std::string Ts(std::string_view column) {
  std::string out(kTimestampJson);
  out.replace(out.find("%s"), 2, column);
  return out + " AS " + std::string(column);
}

const std::string kSelectSelection =
    "SELECT id, course_id, course_name, user_id, company_id, order_type, " + Ts("create_date") +
    ", course_price::text AS course_price, valid_days, status, " + Ts("validtime_start") + ", " +
    Ts("validtime_end") + ", remarks FROM xc_choose_course WHERE id = $1";
const std::string kSelectCourseTables =
    "SELECT id, choose_course_id, user_id, course_id, company_id, course_name, course_type, " +
    Ts("create_date") + ", " + Ts("validtime_start") + ", " + Ts("validtime_end") + ", " + Ts("update_date") +
    ", remarks FROM xc_course_tables WHERE user_id = $1 ORDER BY id";

void PrepareApply(pqxx::connection& conn) {
  conn.prepare("learning_insert_inbox", std::string(kInsertInbox));
  conn.prepare("learning_lock_selection", std::string(kLockSelection));
  conn.prepare("learning_mark_selected", std::string(kMarkSelected));
  conn.prepare("learning_add_course_table", std::string(kAddCourseTable));
}

/// Translates a libpqxx failure; drops the connection when it is gone.
[[noreturn]] void Rethrow(pg::ConnectionHolder& holder, const std::exception& e) {
  const std::string text = pg::Describe(e);
  if (pg::IsConnectionLoss(e) || !holder.HasOpenConnection()) {
    holder.Invalidate();
    throw RepositoryError(FailureKind::kUnavailable, text);
  }
  switch (pg::Classify(e)) {
    case pg::ErrorKind::kInDoubt:
      // Committed or not, applying again is safe: the inbox row commits with the change.
      holder.Invalidate();
      throw RepositoryError(FailureKind::kUnavailable, text);
    case pg::ErrorKind::kTransient:
    case pg::ErrorKind::kDuplicate:  // a racing replica inserted the key: the retry sees it
      throw RepositoryError(FailureKind::kTransient, text);
    case pg::ErrorKind::kPermanent:
      break;
  }
  throw RepositoryError(FailureKind::kPermanent, text);
}

nlohmann::json RowToJson(const pqxx::row& row) {
  nlohmann::json obj = nlohmann::json::object();
  for (const auto& field : row) {
    const std::string name = field.name();
    if (field.is_null()) {
      obj[name] = nullptr;
    } else if (name == "id" || name == "course_id" || name == "company_id" || name == "choose_course_id" ||
               name == "valid_days") {
      obj[name] = field.as<int64_t>();
    } else {
      obj[name] = field.as<std::string>();
    }
  }
  return obj;
}

}  // namespace

PgEnrollmentRepository::PgEnrollmentRepository(pg::PgSettings settings)
    : holder_(std::move(settings), PrepareApply) {}

void PgEnrollmentRepository::Connect() { holder_.Get(); }

ApplyResult PgEnrollmentRepository::Apply(const PaymentApplication& application) {
  try {
    pqxx::work tx(holder_.Get(), "learning_apply");
    if (tx.exec_prepared("learning_insert_inbox", application.message_key).affected_rows() == 0) {
      tx.commit();
      return ApplyResult::kDuplicate;
    }
    if (tx.exec_prepared("learning_lock_selection", application.choose_course_id).empty()) {
      return ApplyResult::kSelectionMissing;  // tx goes out of scope uncommitted: rolled back, key not kept
    }
    tx.exec_prepared("learning_mark_selected", application.choose_course_id);
    tx.exec_prepared("learning_add_course_table", application.choose_course_id);
    tx.commit();
    return ApplyResult::kApplied;
  } catch (const RepositoryError&) {
    throw;
  } catch (const std::exception& e) {
    Rethrow(holder_, e);
  }
}

PgEnrollmentReader::PgEnrollmentReader(pg::PgSettings settings) : holder_(std::move(settings)) {}

std::optional<nlohmann::json> PgEnrollmentReader::FindSelection(int64_t id) {
  std::lock_guard lock(mutex_);
  try {
    pqxx::read_transaction tx(holder_.Get());
    const pqxx::result r = tx.exec_params(kSelectSelection, id);
    if (r.empty()) return std::nullopt;
    return RowToJson(r[0]);
  } catch (const std::exception& e) {
    Rethrow(holder_, e);
  }
}

nlohmann::json PgEnrollmentReader::CourseTables(const std::string& user_id) {
  std::lock_guard lock(mutex_);
  try {
    pqxx::read_transaction tx(holder_.Get());
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : tx.exec_params(kSelectCourseTables, user_id)) rows.push_back(RowToJson(row));
    return rows;
  } catch (const std::exception& e) {
    Rethrow(holder_, e);
  }
}

void PgEnrollmentReader::Close() noexcept {
  std::lock_guard lock(mutex_);
  holder_.Invalidate();
}

}  // namespace paynotify::learning

#include "learning-service/enrollment/pg_enrollment_repository.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <pqxx/pqxx>

#include "common/pg/array_literal.hpp"
#include "common/pg/errors.hpp"

namespace paynotify::learning {
namespace {

// A batch costs a fixed number of statements, whatever its size: each takes the whole set as
// one array parameter (pg::ArrayLiteral).
//
// The inbox: returns the keys that were new; a key already present was applied before.
constexpr std::string_view kInsertInbox =
    "INSERT INTO processed_message (message_key) SELECT unnest($1::text[]) "
    "ON CONFLICT DO NOTHING RETURNING message_key";
// Locks the selections so concurrent consumers (several replicas) apply one at a time; in id
// order, so two replicas with overlapping batches queue instead of deadlocking.
constexpr std::string_view kLockSelections =
    "SELECT id FROM xc_choose_course WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE";
// Keys whose selection does not exist: not applied, so not recorded (the retry must apply).
constexpr std::string_view kForgetInbox = "DELETE FROM processed_message WHERE message_key = ANY($1::text[])";
// 701002 awaiting payment -> 701001 selected, valid from now for valid_days. A selection
// already at 701001 keeps its validity.
constexpr std::string_view kMarkSelected =
    "UPDATE xc_choose_course SET status = '701001', validtime_start = now(), "
    "validtime_end = now() + make_interval(days => valid_days) "
    "WHERE id = ANY($1::bigint[]) AND status = '701002'";
// The learners' courses. No conflict target on purpose: both unique constraints
// (choose_course_id, and (user_id, course_id) - the learner has this course already through
// another selection) mean "nothing to add".
constexpr std::string_view kAddCourseTables =
    "INSERT INTO xc_course_tables (choose_course_id, user_id, course_id, company_id, course_name, "
    "course_type, create_date, validtime_start, validtime_end, update_date) "
    "SELECT id, user_id, course_id, company_id, course_name, order_type, now(), "
    "COALESCE(validtime_start, now()), COALESCE(validtime_end, now() + make_interval(days => valid_days)), now() "
    "FROM xc_choose_course WHERE id = ANY($1::bigint[]) ORDER BY id "
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
  conn.prepare("learning_lock_selections", std::string(kLockSelections));
  conn.prepare("learning_forget_inbox", std::string(kForgetInbox));
  conn.prepare("learning_mark_selected", std::string(kMarkSelected));
  conn.prepare("learning_add_course_tables", std::string(kAddCourseTables));
}

template <typename T>
std::vector<T> SortedUnique(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
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

std::vector<ApplyResult> PgEnrollmentRepository::ApplyBatch(std::span<const PaymentApplication> applications) {
  // A key's first occurrence is the one applied; a repeat in the same batch (the same message
  // delivered twice, e.g. after a lost publisher confirm) is a duplicate of it.
  std::unordered_map<std::string_view, int64_t> selection_of;
  std::vector<std::string> keys;
  for (const PaymentApplication& a : applications) {
    if (selection_of.emplace(a.message_key, a.choose_course_id).second) keys.push_back(a.message_key);
  }
  if (keys.empty()) return {};
  keys = SortedUnique(std::move(keys));  // one lock order on the inbox's index for every replica

  std::unordered_set<std::string> recorded;  // keys new to the inbox in this batch
  std::unordered_set<int64_t> found;         // selections locked and applied
  try {
    pqxx::work tx(holder_.Get(), "learning_apply");
    for (const auto& row : tx.exec_prepared("learning_insert_inbox", pg::ArrayLiteral(keys))) {
      recorded.insert(row[0].as<std::string>());
    }
    std::vector<int64_t> wanted;
    for (const std::string& key : keys) {
      if (recorded.contains(key)) wanted.push_back(selection_of.at(key));
    }
    if (!wanted.empty()) {
      wanted = SortedUnique(std::move(wanted));
      for (const auto& row : tx.exec_prepared("learning_lock_selections", pg::ArrayLiteral(wanted))) {
        found.insert(row[0].as<int64_t>());
      }
      std::vector<std::string> missing;
      for (const std::string& key : keys) {
        if (recorded.contains(key) && !found.contains(selection_of.at(key))) missing.push_back(key);
      }
      if (!missing.empty()) tx.exec_prepared0("learning_forget_inbox", pg::ArrayLiteral(missing));
      if (!found.empty()) {
        const std::vector<int64_t> present = SortedUnique(std::vector<int64_t>(found.begin(), found.end()));
        tx.exec_prepared0("learning_mark_selected", pg::ArrayLiteral(present));
        tx.exec_prepared0("learning_add_course_tables", pg::ArrayLiteral(present));
      }
    }
    tx.commit();
  } catch (const RepositoryError&) {
    throw;
  } catch (const std::exception& e) {
    Rethrow(holder_, e);
  }

  std::vector<ApplyResult> results;
  results.reserve(applications.size());
  std::unordered_set<std::string_view> seen;
  for (const PaymentApplication& a : applications) {
    const bool first = seen.insert(a.message_key).second;
    if (!recorded.contains(a.message_key)) {
      results.push_back(ApplyResult::kDuplicate);  // in the inbox before this batch
    } else if (!found.contains(selection_of.at(a.message_key))) {
      results.push_back(ApplyResult::kSelectionMissing);
    } else {
      results.push_back(first ? ApplyResult::kApplied : ApplyResult::kDuplicate);
    }
  }
  return results;
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

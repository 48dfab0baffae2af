#include "learning-service/enrollment/pg_enrollment_repository.hpp"

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <pqxx/pqxx>

#include "common/pg/array_literal.hpp"
#include "common/pg/failure.hpp"

namespace paynotify::learning {
namespace {

// The whole batch is ONE statement, whatever its size: $1 the keys (unique), $2 their
// selections, as arrays (pg::ArrayLiteral). Its parts, in the order they take effect:
//  - locked: the batch's selections that exist, locked in id order (replicas applying
//    overlapping batches queue instead of deadlocking);
//  - recorded: the inbox rows, only for keys whose selection exists (a missing selection is
//    not applied, so its key must stay unrecorded for the retry); RETURNING gives the keys
//    that were new - the others were applied before;
//  - marked: 701002 awaiting payment -> 701001 selected, valid from now for valid_days; a
//    selection already at 701001 keeps its validity;
//  - added: the learner's course-table row. Every part reads the statement's snapshot, i.e.
//    the selection as it was before `marked`, so the validity is computed the way `marked`
//    sets it. No conflict target on purpose: both unique constraints (choose_course_id, and
//    (user_id, course_id) - the learner has the course already through another selection)
//    mean "nothing to add", and they also settle a replica racing on the same selection;
//  - known: keys of missing selections that were applied before (duplicates, not missing).
// Result rows: ('recorded', key), ('locked', id), ('known', key).
constexpr std::string_view kApplyBatch = R"sql(
WITH input AS (
  SELECT k AS message_key, s AS selection_id FROM unnest($1::text[], $2::bigint[]) AS t(k, s)
), locked AS (
  SELECT id FROM xc_choose_course WHERE id = ANY($2::bigint[]) ORDER BY id FOR UPDATE
), recorded AS (
  INSERT INTO processed_message (message_key)
  SELECT message_key FROM input WHERE selection_id IN (SELECT id FROM locked) ORDER BY message_key
  ON CONFLICT DO NOTHING RETURNING message_key
), paid AS (
  SELECT DISTINCT i.selection_id AS id FROM input i JOIN recorded r ON r.message_key = i.message_key
), marked AS (
  UPDATE xc_choose_course c SET status = '701001', validtime_start = now(),
         validtime_end = now() + make_interval(days => c.valid_days)
  FROM paid WHERE c.id = paid.id AND c.status = '701002'
), added AS (
  INSERT INTO xc_course_tables (choose_course_id, user_id, course_id, company_id, course_name,
                                course_type, create_date, validtime_start, validtime_end, update_date)
  SELECT c.id, c.user_id, c.course_id, c.company_id, c.course_name, c.order_type, now(),
         CASE WHEN c.status = '701002' THEN now() ELSE COALESCE(c.validtime_start, now()) END,
         CASE WHEN c.status = '701002' THEN now() + make_interval(days => c.valid_days)
              ELSE COALESCE(c.validtime_end, now() + make_interval(days => c.valid_days)) END,
         now()
  FROM xc_choose_course c JOIN paid ON paid.id = c.id ORDER BY c.id
  ON CONFLICT DO NOTHING
), known AS (
  SELECT message_key FROM processed_message
  WHERE message_key IN (SELECT message_key FROM input WHERE selection_id NOT IN (SELECT id FROM locked))
)
SELECT 'recorded' AS kind, message_key, NULL::bigint AS id FROM recorded
UNION ALL SELECT 'locked', NULL, id FROM locked
UNION ALL SELECT 'known', message_key, NULL FROM known
)sql";

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
  // One plan for every batch size: the statement's plan does not depend on the arrays'
  // contents (index lookups either way), and re-planning a statement of this size for each
  // batch cost PostgreSQL more than executing it (perf, paced e2e at 365/s).
  conn.set_variable("plan_cache_mode", "force_generic_plan");
  conn.prepare("learning_apply_batch", std::string(kApplyBatch));
}

/// learning-service's policy over the one translation (pg::Translate, which also drops a lost
/// connection): a lost connection or an in-doubt commit -> kUnavailable (applying again is
/// safe: the inbox row commits with the change); transient, or a duplicate key (a racing
/// replica inserted it: the retry sees it) -> kTransient; anything else -> kPermanent.
[[noreturn]] void Rethrow(pg::ConnectionHolder& holder, const std::exception& e) {
  const pg::Failure failure = pg::Translate(e, holder);
  if (failure.connection_lost || failure.kind == pg::ErrorKind::kInDoubt) {
    throw RepositoryError(FailureKind::kUnavailable, failure.detail);
  }
  switch (failure.kind) {
    case pg::ErrorKind::kTransient:
    case pg::ErrorKind::kDuplicate:
      throw RepositoryError(FailureKind::kTransient, failure.detail);
    case pg::ErrorKind::kInDoubt:
    case pg::ErrorKind::kPermanent:
      break;
  }
  throw RepositoryError(FailureKind::kPermanent, failure.detail);
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

void PgEnrollmentRepository::Connect() { pg::ConnectAtStart(holder_); }

std::vector<ApplyResult> PgEnrollmentRepository::ApplyBatch(std::span<const PaymentApplication> applications) {
  // A key's first occurrence is the one applied; a repeat in the same batch (the same message
  // delivered twice, e.g. after a lost publisher confirm) is a duplicate of it.
  std::unordered_map<std::string_view, int64_t> selection_of;
  std::vector<std::string> keys;
  std::vector<int64_t> selections;
  for (const PaymentApplication& a : applications) {
    if (selection_of.emplace(a.message_key, a.choose_course_id).second) {
      keys.push_back(a.message_key);
      selections.push_back(a.choose_course_id);
    }
  }
  if (keys.empty()) return {};

  std::unordered_set<std::string> recorded;  // keys new to the inbox: applied now
  std::unordered_set<std::string> known;     // keys of missing selections, applied before
  std::unordered_set<int64_t> found;         // selections that exist (locked)
  try {
    pqxx::work tx(holder_.Get(), "learning_apply");
    for (const auto& row :
         tx.exec_prepared("learning_apply_batch", pg::ArrayLiteral(keys), pg::ArrayLiteral(selections))) {
      const std::string_view kind = row[0].c_str();
      if (kind == "recorded") {
        recorded.insert(row[1].as<std::string>());
      } else if (kind == "locked") {
        found.insert(row[2].as<int64_t>());
      } else {
        known.insert(row[1].as<std::string>());
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
    if (recorded.contains(a.message_key)) {
      results.push_back(first ? ApplyResult::kApplied : ApplyResult::kDuplicate);
    } else if (found.contains(selection_of.at(a.message_key)) || known.contains(a.message_key)) {
      results.push_back(ApplyResult::kDuplicate);  // in the inbox before this batch
    } else {
      results.push_back(ApplyResult::kSelectionMissing);
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

#include "paynotifyctl/outbox/outbox_commands.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/pg/array_literal.hpp"
#include "paynotifyctl/app/configs.hpp"
#include "paynotifyctl/app/database.hpp"
#include "paynotifyctl/cli/output.hpp"

namespace paynotify::ctl {

namespace {

constexpr int64_t kDefaultListLimit = 50;
constexpr int64_t kMaxListLimit = 10000;
// Ids echoed back by `requeue --all-parked` (the count is always exact).
constexpr size_t kMaxEchoedIds = 1000;

// Unparked rows are pending: due (next_attempt_at reached) or backing off. A due row may
// still wait behind an earlier unparked row of its business_key1 (the relay's key order,
// pg_outbox_store.cpp kClaim): "held back". Served by the partial indexes of 003.
constexpr std::string_view kStatus = R"(
  SELECT count(*) FILTER (WHERE parked_at IS NULL),
         count(*) FILTER (WHERE parked_at IS NULL AND next_attempt_at <= now()),
         count(*) FILTER (WHERE parked_at IS NULL AND next_attempt_at <= now()
                            AND EXISTS (SELECT 1 FROM mq_message e
                                        WHERE e.business_key1 = m.business_key1 AND e.id < m.id
                                          AND e.parked_at IS NULL)),
         count(*) FILTER (WHERE parked_at IS NULL AND next_attempt_at > now()),
         count(*) FILTER (WHERE parked_at IS NOT NULL),
         EXTRACT(EPOCH FROM (now() - min(created_at) FILTER (WHERE parked_at IS NULL)))::float8,
         min(id) FILTER (WHERE parked_at IS NULL),
         count(*) FILTER (WHERE parked_at IS NULL AND execute_num > 0)
  FROM mq_message m)";

// Timestamps as ISO 8601 UTC text: the same in the table and the JSON document.
#define PN_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
constexpr std::string_view kList =
    "SELECT id, message_id::text, message_type, business_key1, business_key2, execute_num, returnfailure_msg, "
    PN_ISO("created_at") ", " PN_ISO("next_attempt_at") ", " PN_ISO("parked_at") ", "
    PN_ISO("returnfailure_date") ", "
    "  EXTRACT(EPOCH FROM (next_attempt_at - now()))::float8, "
    "  count(*) OVER () "
    "FROM mq_message WHERE (NOT $1 OR parked_at IS NOT NULL) ORDER BY id LIMIT $2";
#undef PN_ISO

// FOR UPDATE waits for a row the relay has claimed (its claim holds FOR UPDATE until the
// batch's confirms are settled, at most relay.confirm-timeout), bounded by the session's
// lock_timeout. Once the relay commits, the row is either gone (confirmed: not found here,
// nothing to requeue) or rescheduled/parked, and this update applies to that version. So a
// requeue never races a publish: the relay never sees a half-reset row.
constexpr std::string_view kRequeueIds = R"(
  WITH target AS (
    SELECT id, parked_at IS NOT NULL AS was_parked, execute_num AS attempts
    FROM mq_message WHERE id = ANY($1::bigint[]) FOR UPDATE)
  UPDATE mq_message m SET parked_at = NULL, execute_num = 0, next_attempt_at = now()
  FROM target t WHERE m.id = t.id
  RETURNING m.id, m.message_id::text, t.was_parked, t.attempts)";
// Every parked row, however many: the server counts them, the tool receives the first
// kMaxEchoedIds (memory stays bounded on a table with a million parked rows).
constexpr std::string_view kRequeueParked = R"(
  WITH target AS (
    SELECT id, true AS was_parked, execute_num AS attempts
    FROM mq_message WHERE parked_at IS NOT NULL FOR UPDATE),
  requeued AS (
    UPDATE mq_message m SET parked_at = NULL, execute_num = 0, next_attempt_at = now()
    FROM target t WHERE m.id = t.id
    RETURNING m.id, m.message_id::text AS message_id, t.was_parked, t.attempts)
  SELECT id, message_id, was_parked, attempts, count(*) OVER () FROM requeued ORDER BY id LIMIT $1)";
// The relay wakes on its LISTEN channel instead of waiting for its next poll.
constexpr std::string_view kWakeRelay = "SELECT pg_notify($1, '')";

std::optional<std::string> Text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

struct OutboxConfig {
  pg::PgSettings database;
  int max_attempts = 0;
  std::string notify_channel;
};

OutboxConfig LoadConfig(const Invocation& in) {
  order::OrderServiceConfig c = ReadOrdersConfig(in.global.orders_config, {"database", "relay"});
  return OutboxConfig{std::move(c.database), c.relay.core.max_attempts, c.relay.notify_channel};
}

// ---- status ---------------------------------------------------------------------------

Result Status(const Invocation& in) {
  const OutboxConfig config = LoadConfig(in);
  Database db("orders database", config.database);
  const pqxx::row row = db.Run([](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(std::string(kStatus));
  });
  const auto pending = row[0].as<int64_t>();
  const auto due = row[1].as<int64_t>();
  const auto held_back = row[2].as<int64_t>();
  const auto backing_off = row[3].as<int64_t>();
  const auto parked = row[4].as<int64_t>();
  // Plain values and a flag, not std::optional: g++ 12 -O2 warns (maybe-uninitialized) on
  // optionals of scalars read after the row's other fields.
  const bool has_pending = !row[5].is_null();
  const double oldest_age = has_pending ? row[5].as<double>() : 0.0;
  const int64_t oldest_id = has_pending ? row[6].as<int64_t>() : 0;
  const auto failing = row[7].as<int64_t>();

  Result result;
  result.json = {{"pending", pending},
                 {"due", due},
                 {"held_back", held_back},
                 {"backing_off", backing_off},
                 {"retrying", failing},
                 {"parked", parked},
                 {"oldest_pending_age_seconds", has_pending ? nlohmann::json(oldest_age) : nlohmann::json(nullptr)},
                 {"oldest_pending_id", has_pending ? nlohmann::json(oldest_id) : nlohmann::json(nullptr)},
                 {"max_attempts", config.max_attempts}};
  std::string oldest = "-";
  if (has_pending) oldest = fmt::format("{} (id {})", FormatSeconds(oldest_age), oldest_id);
  result.text = KeyValues({
      {"pending", fmt::format("{}  (not parked: due + backing off)", pending)},
      {"  due now", fmt::format("{}  ({} of them held back behind an earlier row of their businessKey1)", due, held_back)},
      {"  backing off", fmt::format("{}  (after a failed publish; {} pending row{} failed at least once)",
                                    backing_off, failing, failing == 1 ? " has" : "s have")},
      {"parked", fmt::format("{}  (failed relay.max-attempts={} times; see outbox list --parked)", parked,
                             config.max_attempts)},
      {"oldest pending", oldest},
  });
  return result;
}

// ---- list -----------------------------------------------------------------------------

std::string StateOf(bool parked, double next_in_seconds) {
  if (parked) return "parked";
  return next_in_seconds > 0 ? "backing-off" : "due";
}

Result List(const Invocation& in) {
  const bool parked_only = in.args.Has("--parked");
  const int64_t limit = in.args.Int("--limit", kDefaultListLimit, 1, kMaxListLimit);
  const OutboxConfig config = LoadConfig(in);
  Database db("orders database", config.database);
  const pqxx::result rows = db.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return tx.exec_params(std::string(kList), parked_only, limit);
  });

  Table table({"ID", "MESSAGE_ID", "BUSINESSKEY1", "BUSINESSKEY2", "ATTEMPTS", "STATE", "NEXT_ATTEMPT", "CREATED",
               "LAST_ERROR"});
  table.AlignRight(0).AlignRight(4).Limit(2, 24).Limit(3, 16).Limit(8, 60);
  nlohmann::json items = nlohmann::json::array();
  int64_t total = 0;
  for (const auto& r : rows) {
    total = r[12].as<int64_t>();
    const bool parked = !r[9].is_null();
    const double next_in = r[11].as<double>();
    const std::string state = StateOf(parked, next_in);
    items.push_back({{"id", r[0].as<int64_t>()},
                     {"message_id", r[1].as<std::string>()},
                     {"message_type", r[2].as<std::string>()},
                     {"business_key1", OrNull(Text(r[3]))},
                     {"business_key2", OrNull(Text(r[4]))},
                     {"attempts", r[5].as<int64_t>()},
                     {"state", state},
                     {"last_error", OrNull(Text(r[6]))},
                     {"last_error_at", OrNull(Text(r[10]))},
                     {"created_at", r[7].as<std::string>()},
                     {"next_attempt_at", parked ? nlohmann::json(nullptr) : nlohmann::json(r[8].as<std::string>())},
                     {"parked_at", OrNull(Text(r[9]))}});
    std::string next = parked ? "never (parked)" : next_in > 0 ? "in " + FormatSeconds(next_in) : "now";
    table.AddRow({std::to_string(r[0].as<int64_t>()), r[1].as<std::string>(), Text(r[3]), Text(r[4]),
                  fmt::format("{}/{}", r[5].as<int64_t>(), config.max_attempts), state, next,
                  r[7].as<std::string>(), Text(r[6])});
  }
  const bool truncated = total > static_cast<int64_t>(rows.size());
  Result result;
  result.json = {{"rows", std::move(items)},
                 {"total", total},
                 {"limit", limit},
                 {"truncated", truncated},
                 {"parked_only", parked_only}};
  result.text = table.Render();
  if (truncated) {
    result.text += fmt::format("({} of {} rows shown, oldest first; --limit N for more)\n", rows.size(), total);
  }
  return result;
}

// ---- requeue --------------------------------------------------------------------------

std::vector<int64_t> ParseIds(const std::vector<std::string>& words) {
  std::vector<int64_t> ids;
  for (const std::string& word : words) ids.push_back(ParseInt(word, "ID", 1, INT64_MAX));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result Requeue(const Invocation& in) {
  const bool all_parked = in.args.Has("--all-parked");
  const auto& words = in.args.Positionals();
  if (all_parked && !words.empty()) throw UsageError("give IDs or --all-parked, not both");
  if (!all_parked && words.empty()) throw UsageError("which rows? give one or more IDs, or --all-parked");
  const std::vector<int64_t> ids = ParseIds(words);
  const OutboxConfig config = LoadConfig(in);
  Database db("orders database", config.database);

  // All or nothing: one transaction; a named id that is not there rolls it back.
  const pqxx::result rows = db.Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn, "paynotifyctl_requeue");
    pqxx::result r = all_parked ? tx.exec_params(std::string(kRequeueParked), static_cast<int64_t>(kMaxEchoedIds))
                                : tx.exec_params(std::string(kRequeueIds), pg::ArrayLiteral(ids));
    if (!all_parked && r.size() != ids.size()) {
      std::set<int64_t> found;
      for (const auto& row : r) found.insert(row[0].as<int64_t>());
      std::vector<std::string> missing;
      for (const int64_t id : ids) {
        if (!found.contains(id)) missing.push_back(std::to_string(id));
      }
      throw NotFound(fmt::format("no outbox row with id {} (published and removed, or never there); "
                                 "nothing was requeued",
                                 fmt::join(missing, ", ")));
    }
    if (!r.empty()) tx.exec_params(std::string(kWakeRelay), config.notify_channel);
    tx.commit();
    return r;
  });

  nlohmann::json items = nlohmann::json::array();
  Table table({"ID", "MESSAGE_ID", "WAS", "ATTEMPTS_BEFORE"});
  table.AlignRight(0).AlignRight(3);
  // --all-parked: every requeued row was parked, and the server counted them (the rows
  // echoed are the first kMaxEchoedIds). Named ids: every row came back.
  const int64_t requeued = all_parked && !rows.empty() ? rows[0][4].as<int64_t>() : static_cast<int64_t>(rows.size());
  int64_t was_parked = all_parked ? requeued : 0;
  for (const auto& r : rows) {
    const bool parked = r[2].as<bool>();
    if (!all_parked) was_parked += parked ? 1 : 0;
    if (items.size() < kMaxEchoedIds) {
      items.push_back({{"id", r[0].as<int64_t>()},
                       {"message_id", r[1].as<std::string>()},
                       {"was", parked ? "parked" : "pending"},
                       {"attempts_before", r[3].as<int64_t>()}});
      table.AddRow({std::to_string(r[0].as<int64_t>()), r[1].as<std::string>(), parked ? "parked" : "pending",
                    std::to_string(r[3].as<int64_t>())});
    }
  }
  Result result;
  const bool truncated = requeued > static_cast<int64_t>(items.size());
  result.json = {{"requeued", requeued}, {"were_parked", was_parked}, {"rows", std::move(items)}, {"truncated", truncated}};
  if (rows.empty()) {
    result.text = "no parked rows: nothing to requeue\n";
  } else {
    result.text = table.Render();
    if (truncated) result.text += fmt::format("(the first {} shown)\n", rows.size());
    result.text += fmt::format("{} row{} requeued ({} of them parked before): due now, attempts reset to 0\n",
                               requeued, requeued == 1 ? "" : "s", was_parked);
  }
  return result;
}

}  // namespace

void RegisterOutboxCommands(std::vector<Command>& commands) {
  commands.push_back(Command{
      .group = "outbox",
      .verb = "status",
      .summary = "pending (due, backing off), parked; oldest pending age",
      .synopsis = "",
      .description = "Counts the orders database's outbox (mq_message) as the relay sees it. \"held back\": due\n"
                     "rows waiting behind an earlier unparked row of their businessKey1 (rows of one key go\n"
                     "out in order).",
      .options = {},
      .positional = "",
      .handler = Status,
  });
  commands.push_back(Command{
      .group = "outbox",
      .verb = "list",
      .summary = "rows oldest first: message_id, keys, attempts, last error, next attempt",
      .synopsis = "[--parked] [--limit N]",
      .description = "STATE is due, backing-off or parked. The JSON document has full values (the table cuts\n"
                     "long ones) and \"total\"/\"truncated\".",
      .options = {{.name = "--parked", .value_name = "", .help = "only parked rows"},
                  {.name = "--limit",
                   .value_name = "N",
                   .help = fmt::format("at most N rows (default {}, at most {})", kDefaultListLimit, kMaxListLimit)}},
      .positional = "",
      .handler = List,
  });
  commands.push_back(Command{
      .group = "outbox",
      .verb = "requeue",
      .summary = "back to pending and due now, attempts reset",
      .synopsis = "(ID... | --all-parked)",
      .description = "All or nothing: if a named ID is not in the outbox (published and removed, or never\n"
                     "there), nothing is changed and the missing ids are named (exit 1). A row the relay is\n"
                     "publishing right now is waited for (at most 30 s) and then requeued, or reported missing\n"
                     "if its publish was confirmed. The relay is woken at once (its notify channel).",
      .options = {{.name = "--all-parked", .value_name = "", .help = "every parked row"}},
      .positional = "ID...",
      .handler = Requeue,
  });
}

}  // namespace paynotify::ctl

#include "paynotifyctl/trace/trace_command.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "common/amqp/errors.hpp"
#include "common/amqp/queue_browser.hpp"
#include "common/log/log.hpp"
#include "common/pg/array_literal.hpp"
#include "common/text/escape.hpp"
#include "paynotifyctl/app/configs.hpp"
#include "paynotifyctl/app/database.hpp"
#include "paynotifyctl/dlq/dead_letter.hpp"
#include "paynotifyctl/dlq/dlq_commands.hpp"
#include "paynotifyctl/trace/trace_report.hpp"

namespace paynotify::ctl {

namespace {

using text::Printable;

// A walk of the parking queue gives up after this long (the trace then says so).
constexpr std::chrono::seconds kDeadLetterWalkTimeout{20};

// Outbox and history rows of one selection a trace shows (the newest).
constexpr int64_t kMaxMessages = 20;
// Longest --selection (xc_orders.out_business_id, mq_message.business_key1: varchar(64)) and
// --message-id (processed_message.message_key: varchar(255)) that can match anything.
constexpr size_t kMaxSelectionBytes = 64;
constexpr size_t kMaxMessageIdBytes = 255;

#define PN_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

constexpr std::string_view kPaymentColumns =
    "SELECT p.pay_no, p.status, " PN_ISO("p.pay_success_time") ", p.out_pay_no, p.user_id, p.total_price::text, "
    PN_ISO("p.create_date") ", p.order_id, o.status, o.order_type, o.out_business_id "
    "FROM xc_pay_record p JOIN xc_orders o ON o.id = p.order_id ";
// One selection may have several pay records (a new one per payment attempt): the paid one,
// else the newest.
constexpr std::string_view kPaymentByPayNo = "WHERE p.pay_no = $1";
constexpr std::string_view kPaymentBySelection =
    "WHERE o.out_business_id = $1 ORDER BY (p.status = '601002') DESC, p.id DESC LIMIT 1";

// Both tables, one shape: history rows are published (returnsuccess_date), never parked.
constexpr std::string_view kOutboxColumns =
    "SELECT false, id, message_id::text, message_type, business_key1, business_key2, execute_num, returnfailure_msg, "
    PN_ISO("created_at") ", " PN_ISO("next_attempt_at") ", EXTRACT(EPOCH FROM (next_attempt_at - now()))::float8, "
    PN_ISO("parked_at") ", NULL::text FROM mq_message ";
constexpr std::string_view kHistoryColumns =
    "SELECT true, id, message_id::text, message_type, business_key1, business_key2, execute_num, returnfailure_msg, "
    PN_ISO("created_at") ", NULL::text, 0::float8, NULL::text, " PN_ISO("returnsuccess_date")
    " FROM mq_message_history ";
// Both tables are indexed by business_key1 (the history by sql/orders/005) and by message_id.
constexpr std::string_view kByKey = "WHERE business_key1 = $1";
constexpr std::string_view kByMessageId = "WHERE message_id = $1::uuid";
constexpr std::string_view kByRowId = "WHERE id = $1";

constexpr std::string_view kInbox =
    "SELECT message_key, " PN_ISO("processed_at") " FROM processed_message WHERE message_key = ANY($1::text[]) "
    "ORDER BY processed_at";
constexpr std::string_view kSelection =
    "SELECT id, status, user_id, course_id, course_name, order_type, " PN_ISO("validtime_start") ", "
    PN_ISO("validtime_end") " FROM xc_choose_course WHERE id = $1";
// The selection's own row, else the learner's row for the course (unique per user and
// course: an earlier selection may have brought it).
constexpr std::string_view kCourseTable =
    "SELECT id, choose_course_id, " PN_ISO("create_date") ", " PN_ISO("validtime_start") ", " PN_ISO("validtime_end")
    " FROM xc_course_tables WHERE choose_course_id = $1 OR (user_id = $2 AND course_id = $3) "
    "ORDER BY (choose_course_id = $1) DESC LIMIT 1";

#undef PN_ISO

std::optional<std::string> Text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::optional<int64_t> ToInt64(std::string_view s) {
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// A Java-style dedup key "messageType:id" (learning-service's key for messages without an
// AMQP message_id): the id is the outbox row's.
std::optional<int64_t> JavaKeyRowId(std::string_view key) {
  const size_t colon = key.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const auto id = ToInt64(key.substr(colon + 1));
  if (!id || *id <= 0) return std::nullopt;
  return id;
}

TracePayment ToPayment(const pqxx::row& r) {
  TracePayment p;
  p.pay_no = r[0].as<int64_t>();
  p.status = r[1].as<std::string>();
  p.paid_at = Text(r[2]);
  p.trade_no = Text(r[3]);
  p.user_id = r[4].as<std::string>();
  p.total_price = r[5].as<std::string>();
  p.created_at = r[6].as<std::string>();
  p.order_id = r[7].as<int64_t>();
  p.order_status = r[8].as<std::string>();
  p.order_type = r[9].as<std::string>();
  p.out_business_id = r[10].as<std::string>();
  return p;
}

TraceMessage ToMessage(const pqxx::row& r) {
  TraceMessage m;
  m.history = r[0].as<bool>();
  m.id = r[1].as<int64_t>();
  m.message_id = r[2].as<std::string>();
  m.message_type = r[3].as<std::string>();
  m.business_key1 = Text(r[4]);
  m.business_key2 = Text(r[5]);
  m.attempts = r[6].as<int64_t>();
  m.last_error = Text(r[7]);
  m.created_at = r[8].as<std::string>();
  m.next_attempt_at = Text(r[9]);
  m.next_attempt_in_seconds = r[10].as<double>();
  m.parked_at = Text(r[11]);
  m.published_at = Text(r[12]);
  return m;
}

std::vector<TraceMessage> Messages(pqxx::read_transaction& tx, std::string_view where, const std::string& param,
                                   int64_t limit) {
  const std::string sql = fmt::format("SELECT * FROM ({}{} UNION ALL {}{}) AS m ORDER BY 2 DESC LIMIT {}",
                                      kOutboxColumns, where, kHistoryColumns, where, limit);
  std::vector<TraceMessage> out;
  for (const auto& row : tx.exec_params(sql, param)) out.push_back(ToMessage(row));
  std::reverse(out.begin(), out.end());  // oldest first
  return out;
}

struct Query {
  std::optional<int64_t> pay_no;
  std::optional<std::string> selection;
  std::optional<std::string> message_id;
};

Query ParseQuery(const Args& args) {
  Query q;
  int given = 0;
  if (const auto v = args.Value("--pay-no")) {
    q.pay_no = ParseInt(*v, "--pay-no", 1, INT64_MAX);
    ++given;
  }
  if (const auto v = args.Value("--selection")) {
    if (v->empty() || v->size() > kMaxSelectionBytes) {
      throw UsageError(fmt::format("--selection: expected 1 to {} bytes", kMaxSelectionBytes));
    }
    q.selection = *v;
    ++given;
  }
  if (const auto v = args.Value("--message-id")) {
    if (v->empty() || v->size() > kMaxMessageIdBytes) {
      throw UsageError(fmt::format("--message-id: expected 1 to {} bytes", kMaxMessageIdBytes));
    }
    q.message_id = *v;
    ++given;
  }
  if (given != 1) throw UsageError("give exactly one of --pay-no, --message-id, --selection");
  return q;
}

// The pay record (when not known yet) and the outbox/history rows of d.selection_key.
void ReadBySelection(pqxx::read_transaction& tx, TraceData& d) {
  if (!d.payment) {
    const pqxx::result r = tx.exec_params(fmt::format("{}{}", kPaymentColumns, kPaymentBySelection), *d.selection_key);
    if (!r.empty()) d.payment = ToPayment(r[0]);
  }
  d.messages = Messages(tx, kByKey, *d.selection_key, kMaxMessages);
}

// The orders database's part: pay record + order, outbox/history rows, the message followed.
void ReadOrders(Database& db, const Query& q, TraceData& d) {
  db.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn, "paynotifyctl_trace");
    std::optional<TraceMessage> named;
    if (q.pay_no) {
      const pqxx::result r = tx.exec_params(fmt::format("{}{}", kPaymentColumns, kPaymentByPayNo), *q.pay_no);
      if (r.empty()) throw NotFound(fmt::format("no pay record with pay_no {}", *q.pay_no));
      d.payment = ToPayment(r[0]);
      d.selection_key = d.payment->out_business_id;
    } else if (q.selection) {
      d.selection_key = *q.selection;
    } else {
      std::vector<TraceMessage> found;
      if (IsUuid(*q.message_id)) {
        found = Messages(tx, kByMessageId, *q.message_id, 1);
      } else if (const auto row_id = JavaKeyRowId(*q.message_id)) {
        found = Messages(tx, kByRowId, std::to_string(*row_id), 1);
      }
      if (!found.empty()) {
        named = found.front();
        d.selection_key = named->business_key1;
      }
    }
    if (d.selection_key) ReadBySelection(tx, d);
    if (named) {
      const auto it = std::find_if(d.messages.begin(), d.messages.end(),
                                   [&](const TraceMessage& m) { return m.history == named->history && m.id == named->id; });
      if (it == d.messages.end()) {
        d.messages.push_back(*named);
        d.followed = d.messages.size() - 1;
      } else {
        d.followed = static_cast<size_t>(it - d.messages.begin());
      }
    } else if (!d.messages.empty()) {
      // The newest unpublished row (the one still to go out), else the newest published one.
      d.followed = d.messages.size() - 1;
      for (size_t i = d.messages.size(); i-- > 0;) {
        if (!d.messages[i].history) {
          d.followed = i;
          break;
        }
      }
    }
    d.message_id = q.message_id ? q.message_id
                   : d.followed ? std::optional(d.messages[*d.followed].message_id)
                                : std::nullopt;
    return 0;
  });
}

// Whether the payment's message sits in learning-service's parking queue: one non-destructive
// walk (amqp::QueueBrowser: nothing is settled, every message goes back where it was),
// matching the message_id followed or, when that is unknown (the outbox row was deleted after
// publishing), the body's businessKey1. Never fails the trace: a broker that cannot be
// reached, a missing queue or an unfinished walk is reported as "not checked" with why.
void LookInDeadLetterQueue(const learning::LearningSettings& settings, TraceData& d) {
  TraceDeadLetter& dl = d.dead_letter;
  const dlq::DlqTarget target = DlqTargetFrom(settings, kDeadLetterWalkTimeout);
  dl.queue = target.dead_letter_queue;
  if (!d.message_id && !d.selection_key) {
    dl.not_checked_reason = "neither a message_id nor a selection to look for";
    return;
  }
  try {
    const amqp::QueueBrowser browser(target.broker, target.dead_letter_queue, target.browse);
    const amqp::WalkResult walk = browser.Walk([&](const amqp::Delivery& delivery, uint64_t position) {
      const dlq::DeadLetterSummary s = dlq::Summarize(delivery, position);
      const bool match = (d.message_id && s.message_id == d.message_id) ||
                         (d.selection_key && s.business_key1 == d.selection_key);
      if (match) {
        if (!dl.found) {
          dl.found = true;
          dl.message_id = s.message_id;
          dl.reason = s.reason;
          dl.error = s.error;
          dl.failed_at = s.failed_at;
          dl.attempts = s.attempts;
          if (!d.selection_key && s.business_key1) d.selection_key = s.business_key1;
        }
        ++dl.copies;
      }
      return amqp::Verdict::kKeep;
    });
    if (walk.end == amqp::WalkEnd::kTimedOut || walk.end == amqp::WalkEnd::kFailed) {
      dl.incomplete = true;
      if (!dl.found) {
        dl.not_checked_reason = fmt::format("the walk of {} did not finish ({}: {})", Printable(dl.queue),
                                            amqp::ToString(walk.end), Printable(walk.error, 256));
        return;
      }
    }
    dl.checked = true;
  } catch (const amqp::QueueNotFound&) {
    dl.not_checked_reason = fmt::format("queue {} does not exist (learning-service declares it at start-up)",
                                        Printable(dl.queue));
  } catch (const amqp::QueueInUse&) {
    // Another walk holds the messages it has seen: looking now could miss the one we want.
    dl.not_checked_reason = fmt::format("another client is consuming {} (another paynotifyctl walk?); try again",
                                        Printable(dl.queue));
  } catch (const amqp::AmqpError& e) {
    dl.not_checked_reason = fmt::format("broker unreachable: {}", Printable(e.what(), 256));
  }
}

// The learning database's part: inbox row, selection, course-table row.
void ReadLearning(Database& db, TraceData& d) {
  db.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn, "paynotifyctl_trace");
    // The dedup keys this payment's messages may have been applied under: their message_ids,
    // and the Java form messageType:id of each row.
    std::vector<std::string> keys;
    if (d.message_id) keys.push_back(*d.message_id);
    for (const TraceMessage& m : d.messages) {
      keys.push_back(m.message_id);
      keys.push_back(fmt::format("{}:{}", m.message_type, m.id));
    }
    if (!keys.empty()) {
      const pqxx::result r = tx.exec_params(std::string(kInbox), pg::ArrayLiteral(keys));
      // The followed message's own row if it has one, else the earliest.
      for (const auto& row : r) {
        TraceInbox inbox{row[0].as<std::string>(), row[1].as<std::string>()};
        const bool own = d.message_id && inbox.message_key == *d.message_id;
        if (!d.inbox || own) d.inbox = std::move(inbox);
        if (own) break;
      }
    }
    const std::optional<int64_t> selection_id = d.selection_key ? ToInt64(*d.selection_key) : std::nullopt;
    if (selection_id) {
      const pqxx::result r = tx.exec_params(std::string(kSelection), *selection_id);
      if (!r.empty()) {
        const pqxx::row& row = r[0];
        d.selection = TraceSelection{row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                                     row[3].as<int64_t>(), row[4].as<std::string>(), row[5].as<std::string>(),
                                     Text(row[6]),          Text(row[7])};
        const pqxx::result c =
            tx.exec_params(std::string(kCourseTable), d.selection->id, d.selection->user_id, d.selection->course_id);
        if (!c.empty()) {
          d.course_table = TraceCourseTable{c[0][0].as<int64_t>(), c[0][1].as<int64_t>(), c[0][2].as<std::string>(),
                                            Text(c[0][3]), Text(c[0][4])};
        }
      }
    }
    return 0;
  });
}

std::string QueryText(const Query& q) {
  if (q.pay_no) return fmt::format("pay-no {}", *q.pay_no);
  if (q.selection) return "selection " + *q.selection;
  return "message-id " + *q.message_id;
}

Result Trace(const Invocation& in) {
  const Query q = ParseQuery(in.args);
  order::OrderServiceConfig orders = ReadOrdersConfig(in.global.orders_config, {"database", "relay"});
  // The broker part is optional: without it (e.g. no rabbitmq password at hand) the trace
  // still answers from both databases and says why the dead-letter queue was not looked at.
  std::vector<config::ConfigError> broker_errors;
  learning::LearningSettings learning =
      ReadLearningConfig(in.global.learning_config, {"database"}, {"rabbitmq", "consumer"}, &broker_errors);

  TraceData d;
  d.query = QueryText(q);
  d.keep_history = orders.relay.keep_history;
  Database orders_db("orders database", orders.database);
  ReadOrders(orders_db, q, d);
  if (broker_errors.empty()) {
    const bool had_selection = d.selection_key.has_value();
    LookInDeadLetterQueue(learning, d);
    // A message found only in the parking queue names its selection: follow it back.
    if (!had_selection && d.selection_key) {
      orders_db.Run([&](pqxx::connection& conn) {
        pqxx::read_transaction tx(conn, "paynotifyctl_trace");
        ReadBySelection(tx, d);
        return 0;
      });
    }
  } else {
    d.dead_letter.queue = learning.topology.dead_letter_queue;
    d.dead_letter.not_checked_reason = fmt::format("learning-service's config: {}",
                                                   Printable(broker_errors.front().ToString(), 256));
  }
  {
    Database db("learning database", learning.database);
    ReadLearning(db, d);
  }

  const bool found_anything = d.payment || !d.messages.empty() || d.inbox || d.selection || d.dead_letter.found;
  if (!found_anything) {
    // Nothing anywhere (a message found only in the parking queue counts as found).
    throw NotFound(fmt::format("nothing found for {}: no pay record, order, outbox or history row, inbox row, "
                               "selection or dead-letter copy",
                               Printable(d.query, 300)));
  }
  const TraceVerdict verdict = Decide(d);
  Result result;
  result.json = TraceJson(d, verdict);
  result.text = TraceText(d, verdict);
  return result;
}

}  // namespace

void RegisterTraceCommand(std::vector<Command>& commands) {
  commands.push_back(Command{
      .group = "trace",
      .verb = "",
      .summary = "one payment through both databases: was it applied, if not where is it",
      .synopsis = "(--pay-no N | --message-id ID | --selection ID)",
      .description =
          "Follows the pay record and its order (orders database), the outbox row or its history row\n"
          "(mq_message, mq_message_history: message_id, attempts, parked), the learning inbox row\n"
          "(processed_message: applied when), the course selection (xc_choose_course) and the\n"
          "learner's course-table row (xc_course_tables), and ends with one line:\n"
          "  verdict: applied | waiting_in_outbox | parked | in_dead_letter_queue | not_paid |\n"
          "           in_flight | not_applicable | unknown: <where it is and what to run>\n"
          "The dead-letter queue is read without taking anything out of it (as dlq list does); when\n"
          "the broker cannot be reached, or learning-service's rabbitmq.* config is incomplete (e.g.\n"
          "no password), the trace still answers from the databases and says the queue was not\n"
          "checked. Exit 1 when nothing at all is found for the id. Reads order-service's config\n"
          "(database.*, relay.*) and learning-service's (database.*, and rabbitmq.*, consumer.*).",
      .options = {{.name = "--pay-no", .value_name = "N", .help = "the payment number (xc_pay_record.pay_no)"},
                  {.name = "--message-id",
                   .value_name = "ID",
                   .help = "the AMQP message_id (mq_message.message_id), or a Java key messageType:id"},
                  {.name = "--selection", .value_name = "ID", .help = "the course selection (xc_choose_course.id)"}},
      .positional = "",
      .handler = Trace,
  });
}

}  // namespace paynotify::ctl

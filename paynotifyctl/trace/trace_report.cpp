#include "paynotifyctl/trace/trace_report.hpp"

#include <fmt/format.h>

#include "common/text/escape.hpp"
#include "paynotifyctl/cli/output.hpp"

namespace paynotify::ctl {

namespace {

using nlohmann::json;
using text::Printable;

constexpr std::string_view kPaid = "601002";
constexpr std::string_view kUnpaid = "601001";
constexpr std::string_view kCourseOrder = "60201";
constexpr std::string_view kSelected = "701001";
// Bytes of one untrusted value inside a trace line (a line carries several).
constexpr size_t kValueLimit = 96;

std::string Code(const std::string& code) { return fmt::format("{} ({})", StatusName(code), text::CutToBytes(code, 16)); }

// Values stay raw, only bounded: the JSON document escapes by construction, the text
// rendering escapes each whole line once (KeyValues, Printable).
std::string P(const std::string& value) { return text::CutToBytes(value, kValueLimit); }
std::string P(const std::optional<std::string>& value) { return value ? P(*value) : std::string(kNone); }

const TraceMessage* Followed(const TraceData& d) { return d.followed ? &d.messages.at(*d.followed) : nullptr; }

std::string Learner(const TraceData& d) {
  if (d.payment) return P(d.payment->user_id);
  if (d.selection) return P(d.selection->user_id);
  return "?";
}

std::string Subject(const TraceData& d) {
  std::string s = fmt::format("learner {}'s payment", Learner(d));
  if (d.payment) s += fmt::format(" {}", d.payment->pay_no);
  if (d.selection_key) s += fmt::format(" (selection {})", P(d.selection_key));
  return s;
}

json MessageJson(const TraceMessage& m) {
  return {{"table", m.history ? "mq_message_history" : "mq_message"},
          {"id", m.id},
          {"message_id", m.message_id},
          {"message_type", m.message_type},
          {"business_key1", OrNull(m.business_key1)},
          {"business_key2", OrNull(m.business_key2)},
          {"attempts", m.attempts},
          {"state", m.State()},
          {"last_error", OrNull(m.last_error)},
          {"created_at", m.created_at},
          {"next_attempt_at", m.history || m.parked_at ? json(nullptr) : OrNull(m.next_attempt_at)},
          {"parked_at", OrNull(m.parked_at)},
          {"published_at", OrNull(m.published_at)}};
}

std::string MessageLine(const TraceMessage& m) {
  std::string line = fmt::format("{} row {}  message_id {}  attempts {}", m.history ? "history" : "outbox", m.id,
                                 P(m.message_id), m.attempts);
  const std::string state = m.State();
  if (state == "published") {
    line += fmt::format("  published at {}", P(m.published_at));
  } else if (state == "parked") {
    line += fmt::format("  PARKED since {}", P(m.parked_at));
  } else if (state == "backing-off") {
    line += fmt::format("  backing off, next attempt in {}", FormatSeconds(m.next_attempt_in_seconds));
  } else {
    line += "  due now (waiting for the relay)";
  }
  if (m.last_error && !m.history) line += fmt::format("  last error: {}", P(m.last_error));
  return line;
}

}  // namespace

std::string TraceMessage::State() const {
  if (history) return "published";
  if (parked_at) return "parked";
  return next_attempt_in_seconds > 0 ? "backing-off" : "due";
}

std::string StatusName(const std::string& code) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"600001", "unpaid"},   {"600002", "paid"},     {"600003", "closed"},
      {"600004", "refunded"}, {"600005", "completed"}, {"601001", "unpaid"},
      {"601002", "paid"},     {"601003", "refunded"}, {"60201", "course"},
      {"60202", "material"},  {"701001", "selected"}, {"701002", "awaiting payment"},
      {"700001", "free"},     {"700002", "paid"}};
  for (const auto& [c, name] : kNames) {
    if (code == c) return std::string(name);
  }
  return text::CutToBytes(code, 16);
}

TraceVerdict Decide(const TraceData& d) {
  const TraceMessage* m = Followed(d);
  if (d.inbox) {
    return {"applied", fmt::format("{} was applied at {} (inbox row {})", Subject(d), P(d.inbox->applied_at),
                                   P(d.inbox->message_key))};
  }
  if (m != nullptr && !m->history) {
    if (m->parked_at) {
      return {"parked", fmt::format("{} is parked in the outbox (row {}, {} failed publishes, last: {}); fix the "
                                    "cause, then: paynotifyctl outbox requeue {}",
                                    Subject(d), m->id, m->attempts, P(m->last_error), m->id)};
    }
    return {"waiting_in_outbox",
            fmt::format("{} is waiting in the outbox (row {}, {}, {} failed publishes so far)", Subject(d), m->id,
                        m->State() == "due" ? "due now" : "next attempt in " + FormatSeconds(m->next_attempt_in_seconds),
                        m->attempts)};
  }
  if (d.payment && d.payment->status == kUnpaid) {
    return {"not_paid", fmt::format("{} is not paid: pay record {} is {}", Subject(d), d.payment->pay_no,
                                    Code(d.payment->status))};
  }
  if (d.dead_letter.found) {
    return {"in_dead_letter_queue",
            fmt::format("{} is in the dead-letter queue {} (reason {}); fix the cause, then: paynotifyctl dlq "
                        "replay {}",
                        Subject(d), P(d.dead_letter.queue), P(d.dead_letter.reason), P(d.dead_letter.message_id))};
  }
  if (d.payment && d.payment->order_type != kCourseOrder) {
    return {"not_applicable", fmt::format("{} is for a {} order: learning-service applies course orders ({}) only",
                                          Subject(d), Code(d.payment->order_type), kCourseOrder)};
  }
  if (d.selection && d.selection->status == kSelected && d.course_table) {
    return {"applied",
            fmt::format("{}: selection {} is selected and in the course table since {}{}", Subject(d), d.selection->id,
                        P(d.course_table->created_at),
                        d.message_id ? "" : " (its message is no longer in the outbox, so the inbox row cannot be named)")};
  }
  const bool published = (m != nullptr && m->history) ||
                         (d.payment && d.payment->status == kPaid && (m == nullptr || m->history));
  if (published) {
    std::string where = d.dead_letter.checked ? "not in the dead-letter queue"
                                              : "the dead-letter queue was not checked (" + d.dead_letter.not_checked_reason + ")";
    std::string why = d.selection ? "" : fmt::format("; selection {} does not exist in the learning database", P(d.selection_key));
    return {"in_flight", fmt::format("{} was published but is not applied yet: in learning-service's queue or a retry "
                                     "queue, or learning-service is not consuming; {}{}",
                                     Subject(d), where, why)};
  }
  return {"unknown", fmt::format("{}: no paid pay record, outbox row or inbox row was found", Subject(d))};
}

json TraceJson(const TraceData& d, const TraceVerdict& verdict) {
  json doc = json::object();
  doc["query"] = d.query;
  doc["keep_history"] = d.keep_history;
  if (d.payment) {
    const TracePayment& p = *d.payment;
    doc["payment"] = {{"pay_no", p.pay_no},     {"status", p.status},       {"status_name", StatusName(p.status)},
                      {"paid_at", OrNull(p.paid_at)}, {"trade_no", OrNull(p.trade_no)}, {"user_id", p.user_id},
                      {"total_price", p.total_price}, {"created_at", p.created_at}};
    doc["order"] = {{"id", p.order_id},
                    {"status", p.order_status},
                    {"status_name", StatusName(p.order_status)},
                    {"order_type", p.order_type},
                    {"out_business_id", p.out_business_id}};
  } else {
    doc["payment"] = nullptr;
    doc["order"] = nullptr;
  }
  json messages = json::array();
  for (const TraceMessage& m : d.messages) messages.push_back(MessageJson(m));
  doc["messages"] = std::move(messages);
  doc["followed_message"] = d.followed ? MessageJson(d.messages.at(*d.followed)) : json(nullptr);
  doc["message_id"] = OrNull(d.message_id);
  doc["selection_id"] = OrNull(d.selection_key);
  doc["inbox"] = d.inbox ? json{{"message_key", d.inbox->message_key}, {"applied_at", d.inbox->applied_at}} : json(nullptr);
  if (d.selection) {
    const TraceSelection& s = *d.selection;
    doc["selection"] = {{"id", s.id},
                        {"status", s.status},
                        {"status_name", StatusName(s.status)},
                        {"user_id", s.user_id},
                        {"course_id", s.course_id},
                        {"course_name", s.course_name},
                        {"order_type", s.order_type},
                        {"valid_from", OrNull(s.valid_from)},
                        {"valid_until", OrNull(s.valid_until)}};
  } else {
    doc["selection"] = nullptr;
  }
  if (d.course_table) {
    const TraceCourseTable& c = *d.course_table;
    doc["course_table"] = {{"id", c.id},
                           {"choose_course_id", c.choose_course_id},
                           {"created_at", c.created_at},
                           {"valid_from", OrNull(c.valid_from)},
                           {"valid_until", OrNull(c.valid_until)}};
  } else {
    doc["course_table"] = nullptr;
  }
  const TraceDeadLetter& dl = d.dead_letter;
  if (dl.checked) {
    doc["dead_letter"] = {{"checked", true},         {"queue", dl.queue},
                          {"found", dl.found},       {"copies", dl.copies},
                          {"message_id", OrNull(dl.message_id)}, {"reason", OrNull(dl.reason)},
                          {"error", OrNull(dl.error)},           {"failed_at", OrNull(dl.failed_at)},
                          {"attempts", dl.attempts ? json(*dl.attempts) : json(nullptr)},
                          {"incomplete", dl.incomplete}};
  } else {
    doc["dead_letter"] = {{"checked", false}, {"reason", dl.not_checked_reason}};
  }
  doc["verdict"] = {{"code", verdict.code}, {"text", verdict.text}};
  return doc;
}

std::string TraceText(const TraceData& d, const TraceVerdict& verdict) {
  // Every line is escaped once, whole, by KeyValues (values inside were only bounded).
  std::vector<std::pair<std::string, std::optional<std::string>>> rows;
  rows.emplace_back("trace", d.query);
  if (d.payment) {
    const TracePayment& p = *d.payment;
    rows.emplace_back("pay record", fmt::format("{}  {}{}  amount {}  user {}  trade_no {}", p.pay_no, Code(p.status),
                                                p.paid_at ? " at " + P(p.paid_at) : "", P(p.total_price),
                                                P(p.user_id), P(p.trade_no)));
    rows.emplace_back("order", fmt::format("{}  {}  type {}  selection {}", p.order_id, Code(p.order_status),
                                           Code(p.order_type), P(p.out_business_id)));
  } else {
    rows.emplace_back("pay record", "none found");
  }
  if (d.messages.empty()) {
    rows.emplace_back("outbox", d.keep_history ? "no row (none in mq_message or mq_message_history)"
                                               : "no row (published rows are deleted: relay.keep-history is false)");
  } else {
    for (size_t i = 0; i < d.messages.size(); ++i) {
      const bool followed = d.followed && *d.followed == i;
      rows.emplace_back(i == 0 ? "outbox" : "", MessageLine(d.messages[i]) + (followed && d.messages.size() > 1 ? "  <- followed" : ""));
    }
  }
  if (d.inbox) {
    rows.emplace_back("inbox", fmt::format("applied at {}  (processed_message {})", P(d.inbox->applied_at),
                                           P(d.inbox->message_key)));
  } else if (d.message_id) {
    rows.emplace_back("inbox", fmt::format("no processed_message row for {}", P(d.message_id)));
  } else {
    rows.emplace_back("inbox", "not looked up: the message_id is unknown");
  }
  if (d.selection) {
    const TraceSelection& s = *d.selection;
    rows.emplace_back("selection", fmt::format("{}  {}  user {}  course {} \"{}\"  valid {} .. {}", s.id, Code(s.status),
                                               P(s.user_id), s.course_id, P(s.course_name), P(s.valid_from),
                                               P(s.valid_until)));
  } else if (d.selection_key) {
    rows.emplace_back("selection", fmt::format("{}: no such row in xc_choose_course", P(d.selection_key)));
  } else {
    rows.emplace_back("selection", "unknown");
  }
  if (d.course_table) {
    const TraceCourseTable& c = *d.course_table;
    std::string via = d.selection && c.choose_course_id != d.selection->id
                          ? fmt::format("  (through selection {}: the learner has this course already)", c.choose_course_id)
                          : "";
    rows.emplace_back("course table", fmt::format("row {} since {}  valid {} .. {}{}", c.id, P(c.created_at),
                                                  P(c.valid_from), P(c.valid_until), via));
  } else {
    rows.emplace_back("course table", d.selection ? "no row for this learner and course" : "-");
  }
  const TraceDeadLetter& dl = d.dead_letter;
  if (!dl.checked) {
    rows.emplace_back("dead-letter", "not checked: " + dl.not_checked_reason);
  } else if (!dl.found) {
    rows.emplace_back("dead-letter", fmt::format("not in {}{}", P(dl.queue), dl.incomplete ? " (walk incomplete)" : ""));
  } else {
    rows.emplace_back("dead-letter",
                      fmt::format("{} cop{} in {}: reason {}  at {}  attempts {}  error {}", dl.copies,
                                  dl.copies == 1 ? "y" : "ies", P(dl.queue), P(dl.reason), P(dl.failed_at),
                                  dl.attempts ? std::to_string(*dl.attempts) : std::string(kNone), P(dl.error)));
  }
  std::string out = KeyValues(rows, 4096);
  out += fmt::format("\nverdict: {}: {}\n", verdict.code, Printable(verdict.text, 4096));
  return out;
}

}  // namespace paynotify::ctl

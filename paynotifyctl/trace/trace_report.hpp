#pragma once
/// What `paynotifyctl trace` found about one payment, the verdict drawn from it, and its two
/// renderings (JSON document, one-screen text). Pure: the databases and the queue are read by
/// trace_command.cpp; unit tests build TraceData by hand.
///
/// The links followed (sql/orders, sql/learning, order-service's intake):
///   xc_pay_record.pay_no -> order_id -> xc_orders.out_business_id = the course selection id
///   = the message's businessKey1 (mq_message.business_key1; businessKey2 = order type) ->
///   mq_message / mq_message_history .message_id = the AMQP message_id = the learning inbox's
///   processed_message.message_key (Java messages without one: "messageType:id", id the
///   outbox row id) ; businessKey1 -> xc_choose_course.id -> xc_course_tables.choose_course_id
///   (or the learner's row for that course: one row per user and course).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace paynotify::ctl {

/// xc_pay_record joined with its xc_orders row.
struct TracePayment {
  int64_t pay_no = 0;
  std::string status;                 ///< 601001 unpaid, 601002 paid, 601003 refunded
  std::optional<std::string> paid_at; ///< pay_success_time, ISO 8601 UTC
  std::optional<std::string> trade_no;
  std::string user_id;
  std::string total_price;
  std::string created_at;
  int64_t order_id = 0;
  std::string order_status;  ///< 600001 unpaid, 600002 paid, ...
  std::string order_type;    ///< 60201 course, 60202 material
  std::string out_business_id;
};

/// An outbox row (mq_message) or its history row (mq_message_history).
struct TraceMessage {
  bool history = false;  ///< true: mq_message_history (confirmed by the broker)
  int64_t id = 0;
  std::string message_id;
  std::string message_type;
  std::optional<std::string> business_key1;
  std::optional<std::string> business_key2;
  int64_t attempts = 0;
  std::optional<std::string> last_error;
  std::string created_at;
  std::optional<std::string> next_attempt_at;
  double next_attempt_in_seconds = 0;  ///< > 0: backing off
  std::optional<std::string> parked_at;
  std::optional<std::string> published_at;  ///< history: returnsuccess_date
  /// "due", "backing-off", "parked" (mq_message) or "published" (history).
  std::string State() const;
};

struct TraceInbox {
  std::string message_key;
  std::string applied_at;
};

struct TraceSelection {
  int64_t id = 0;
  std::string status;  ///< 701001 selected, 701002 awaiting payment
  std::string user_id;
  int64_t course_id = 0;
  std::string course_name;
  std::string order_type;  ///< 700001 free, 700002 paid
  std::optional<std::string> valid_from;
  std::optional<std::string> valid_until;
};

struct TraceCourseTable {
  int64_t id = 0;
  int64_t choose_course_id = 0;  ///< may be another selection of the same learner and course
  std::string created_at;
  std::optional<std::string> valid_from;
  std::optional<std::string> valid_until;
};

/// The dead-letter queue's answer for this payment.
struct TraceDeadLetter {
  bool checked = false;
  std::string not_checked_reason;  ///< when !checked: why (no lookup wired, broker down, ...)
  bool found = false;
  std::optional<std::string> message_id;
  std::optional<std::string> reason;
  std::optional<std::string> error;
  std::optional<std::string> failed_at;
  std::optional<int64_t> attempts;
  int64_t copies = 0;          ///< parked copies of this message (0 when not found)
  std::string queue;           ///< the parking queue's name
  bool incomplete = false;     ///< the walk did not see every message (limit, timeout)
};

struct TraceData {
  std::string query;  ///< "pay-no 1000000000001", "message-id ...", "selection 42"
  bool keep_history = false;  ///< relay.keep-history: whether published rows are kept
  std::optional<TracePayment> payment;
  /// The payment's outbox and history rows, oldest first (bounded); `followed` indexes the
  /// one the trace follows (the named message, else the newest), if any.
  std::vector<TraceMessage> messages;
  std::optional<size_t> followed;
  /// The message_id followed: the named one, or the followed row's.
  std::optional<std::string> message_id;
  std::optional<std::string> selection_key;  ///< businessKey1 / out_business_id
  std::optional<TraceInbox> inbox;
  std::optional<TraceSelection> selection;
  std::optional<TraceCourseTable> course_table;
  TraceDeadLetter dead_letter;
};

/// The one-line answer. code: applied | waiting_in_outbox | parked | in_dead_letter_queue |
/// not_paid | in_flight (published, not applied yet, not parked) | not_applicable (not a
/// course order) | unknown.
struct TraceVerdict {
  std::string code;
  std::string text;
};

/// Draws the verdict, in this order: the inbox has the message -> applied; an unpublished
/// outbox row -> parked / waiting_in_outbox; the pay record unpaid -> not_paid; a parked
/// dead-letter copy -> in_dead_letter_queue; not a course order -> not_applicable; selection
/// selected (701001) with its course-table row -> applied (the outbox row was deleted after
/// publishing, so the message id is unknown); paid and published -> in_flight; else unknown.
TraceVerdict Decide(const TraceData& data);

/// {"query", "payment", "order", "messages", "message_id", "inbox", "selection",
///  "course_table", "dead_letter", "verdict": {"code", "text"}}; absent parts are null.
nlohmann::json TraceJson(const TraceData& data, const TraceVerdict& verdict);

/// One screen: a line per part (pay record, order, outbox, inbox, selection, course table,
/// dead-letter queue), then "verdict: <code>: <text>". Untrusted values escaped.
std::string TraceText(const TraceData& data, const TraceVerdict& verdict);

/// Names of the status codes ("601002" -> "paid"); the code itself when unknown.
std::string StatusName(const std::string& code);

}  // namespace paynotify::ctl

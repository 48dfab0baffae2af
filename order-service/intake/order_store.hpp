#pragma once
/// Port: where orders, pay records and the outbox live (PgOrderStore in production,
/// FakeOrderStore in unit tests). The intake handler makes every decision; the store only
/// reads and writes, inside transactions it scopes.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "order-service/intake/new_order.hpp"

namespace paynotify::order {

/// xc_orders.status / xc_pay_record.status codes of the Java platform.
inline constexpr std::string_view kOrderUnpaid = "600001";
inline constexpr std::string_view kOrderPaid = "600002";
inline constexpr std::string_view kPayUnpaid = "601001";
inline constexpr std::string_view kPayPaid = "601002";
inline constexpr std::string_view kPayRefunded = "601003";

/// Infrastructure failure of a store call, classified for the HTTP answer.
class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    kUnavailable,  ///< database unreachable / transient / outcome in doubt: answer 503, caller retries
    kConflict,     ///< a uniqueness rule would be broken (e.g. trade_no already used): answer 409
    kInternal,     ///< anything else (a bug or a schema mismatch): answer 500
  };
  StoreError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// A pay record joined with its order, as locked or read.
struct PaymentRow {
  int64_t pay_no = 0;
  int64_t order_id = 0;
  std::string status;          ///< xc_pay_record.status
  std::string order_status;    ///< xc_orders.status
  int64_t total_cents = 0;     ///< xc_pay_record.total_price
  std::string user_id;
  std::string out_business_id; ///< xc_orders.out_business_id (course-selection id)
  std::string order_type;      ///< xc_orders.order_type
  std::optional<std::string> out_pay_no;        ///< trade_no, once paid
  std::optional<std::string> pay_success_time;  ///< ISO-8601 text, once paid
};

/// What MarkPaid writes.
struct PaidUpdate {
  int64_t pay_no = 0;
  int64_t order_id = 0;
  std::string trade_no;     ///< -> xc_pay_record.out_pay_no
  std::string pay_channel;  ///< -> xc_pay_record.out_pay_channel
};

/// The outbox row to insert with the state change (the relay publishes it later).
struct OutboxInsert {
  std::string message_type;
  std::optional<std::string> business_key1, business_key2, business_key3;
};

/// The inserted outbox row.
struct OutboxRowRef {
  int64_t id = 0;
  std::string message_id;  ///< uuid text
};

/// What paying one notification writes (PaymentTransaction::MarkPaid).
struct PaidItem {
  PaidUpdate update;
  OutboxInsert message;
};

/// A second payment for a record that is already paid (or refunded): a notification with a
/// trade_no other than the one recorded. The learner was charged again; nothing can apply
/// the money, so it is kept for the operator (xc_pay_conflict) instead of vanishing.
struct PayConflict {
  int64_t pay_no = 0;
  std::string trade_no;                          ///< the notification's trade_no (the second charge)
  std::optional<std::string> recorded_trade_no;  ///< xc_pay_record.out_pay_no (the first)
  std::string pay_status;                        ///< the record's status when it arrived
  int64_t total_amount_cents = 0;                ///< the notification's total_amount
  std::string trade_status;                      ///< the notification's trade_status
  std::string notification;  ///< its fields but sign, escaped and bounded (< 4 KiB)
};

/// A notification to pay on the fast path (OrderStore::PayIfPayable).
struct PayAttempt {
  int64_t pay_no = 0;
  std::string trade_no;     ///< -> xc_pay_record.out_pay_no
  std::string pay_channel;  ///< -> xc_pay_record.out_pay_channel
  int64_t amount_cents = 0; ///< the notification's total_amount; the record must have exactly it
};

/// A payment the fast path made.
struct PaidRef {
  int64_t order_id = 0;
  OutboxRowRef outbox;
};

/// What the fast path did with one attempt.
struct PayOutcome {
  std::optional<PaidRef> paid;  ///< set when this statement paid it
  /// Unless paid: the record with its order as the statement found it (committed data, read
  /// before the statement's own change; nullopt: no such pay_no).
  std::optional<PaymentRow> record;
};

/// The locking path: one database transaction for one payment notification that the fast
/// path (OrderStore::PayIfPayable) did not pay; it reads the record as it is, locked, for
/// the decision. Destroying it without Commit() rolls everything back (that is how "commit
/// nothing" is expressed). Single-threaded. Every method throws StoreError on
/// infrastructure failure; the transaction is then dead.
class PaymentTransaction {
 public:
  virtual ~PaymentTransaction() = default;
  /// SELECT ... FOR UPDATE of the pay record (and its order); nullopt if no such pay_no.
  virtual std::optional<PaymentRow> LockPayment(int64_t pay_no) = 0;
  /// Pay record -> 601002 (out_pay_no, out_pay_channel, pay_success_time = now()),
  /// order -> 600002, inserts the outbox row and NOTIFYs the relay's channel.
  virtual OutboxRowRef MarkPaid(const PaidUpdate& update, const OutboxInsert& message) = 0;
  /// Records a second payment. Idempotent per (pay_no, trade_no): a repeat adds no row, it
  /// only counts the repeat and its time on the existing one. True when the row is new.
  virtual bool RecordConflict(const PayConflict& conflict) = 0;
  /// Commits. Throws StoreError (kUnavailable also when the commit's outcome is in doubt).
  virtual void Commit() = 0;
};

/// Result of CreateOrGetOrder.
struct OrderRef {
  bool created = false;  ///< false: an order for out_business_id already existed
  PaymentRow payment;    ///< the order with its (latest) pay record
};

/// Thread-safe: each call or transaction uses its own connection.
class OrderStore {
 public:
  virtual ~OrderStore() = default;
  /// Starts a payment transaction (the locking path). Throws StoreError.
  virtual std::unique_ptr<PaymentTransaction> BeginPayment() = 0;
  /// The fast path: ONE statement that is its own transaction (one round trip, no lock taken
  /// before it). Pays every attempt whose record is unpaid (601001) and has exactly the
  /// attempt's amount: record -> 601002 (pay_success_time = now()), order -> 600002, an
  /// outbox row of `message_type` keyed by the order's out_business_id and order_type (the
  /// payment result, see PaidItemFor), one NOTIFY of the relay; all of it or nothing.
  /// Returns an outcome per attempt, in order. An attempt not paid carries its record as the
  /// statement read it: paid, refunded, another amount or unknown are final for the caller;
  /// a record that read as payable was changed by a concurrent transaction, and a second
  /// charge must be recorded: the caller decides those on the locking path (BeginPayment),
  /// which reads the record as it is then. pay_nos must be distinct. Throws StoreError; when
  /// the connection was lost during the statement, whether it committed is unknown (the
  /// locking path then finds the records paid, or unpaid).
  virtual std::vector<PayOutcome> PayIfPayable(const std::vector<PayAttempt>& attempts,
                                               std::string_view message_type) = 0;
  /// In one transaction: inserts the order unless one exists for out_business_id (ON
  /// CONFLICT DO NOTHING) and, when inserted, its pay record with a fresh pay_no; then reads
  /// the order with its latest pay record back. Never modifies an existing order. Throws StoreError.
  virtual OrderRef CreateOrGetOrder(const NewOrder& order) = 0;
  /// The pay record with its order, or nullopt. Throws StoreError.
  virtual std::optional<PaymentRow> FindPayment(int64_t pay_no) = 0;
};

}  // namespace paynotify::order

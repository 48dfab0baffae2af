#pragma once
/// The HTTP-independent intake logic of order-service: POST /orders, POST /orders/paynotify
/// and GET /orders/payresult as functions from request text to a reply. The HTTP adapter
/// (http_routes) only moves bytes; every decision, status code and reason is made here.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log/log_budget.hpp"
#include "common/metrics/registry.hpp"
#include "order-service/intake/form.hpp"
#include "order-service/intake/notification.hpp"
#include "order-service/intake/order_store.hpp"
#include "order-service/intake/signature.hpp"

namespace paynotify::order {

/// What to answer.
struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct IntakeSettings {
  /// Our application id at the payment platform; a notification for another app is rejected.
  std::string app_id;
  /// xc_pay_record.out_pay_channel for payments confirmed through this intake.
  std::string pay_channel = "Alipay";
  /// intake.max-batch: most notifications applied in one statement (group commit). 1 = each
  /// notification in its own statement on its own thread, concurrently (no grouping).
  size_t max_batch = 32;
  /// intake.max-batches-in-flight: groups applied at once (each on its leader's thread).
  /// 1 = the next group is what arrived while the previous one committed.
  size_t max_batches_in_flight = 1;
};

/// Thread-safe if the store is. POST /orders/paynotify calls on concurrent threads are
/// grouped (group commit, max_batch > 1): a notification that passed every check needing no
/// database joins a queue; a thread that finds fewer than max_batches_in_flight groups in
/// flight becomes their leader, takes what is queued (oldest first, at most max_batch, at
/// most one per pay_no: a second one for the same pay_no waits for the next group and sees
/// the first one's effect) and applies it on its own thread, while the others wait for their
/// answer. Nothing waits for a group to fill: a lone notification is a group of one.
/// A group is applied in two steps:
///  - the fast path: ONE statement, its own transaction (OrderStore::PayIfPayable), pays
///    every member whose record is unpaid for exactly its amount: one round trip;
///  - a member it did not pay is answered from its record as the statement read it (a
///    repeat, an unknown record, a refusal); a second charge, and a record that a
///    concurrent transaction changed, are decided alone on the locking path: a transaction
///    that locks and reads the record as it is then.
/// If the statement of a group of two or more fails, its members are applied one by one on
/// the locking path, so one bad notification cannot fail the others; once one of those
/// fails with the database unavailable, the rest are answered 503 at once. A lone
/// notification's failure is its answer. Every member is answered (success only after its
/// commit) before its call returns.
class OrderIntake {
 public:
  /// `verifier` null means signature checking is OFF (local demos only; main warns).
  /// `store` and `registry` must outlive the intake.
  OrderIntake(IntakeSettings settings, OrderStore& store,
              std::optional<SignatureVerifier> verifier, metrics::Registry& registry);

  /// POST /orders/paynotify. Answers "success" (200) only after the state change (or the
  /// decision that none is needed) has committed. Otherwise "failure" followed by a line
  /// with the reason: 4xx for bad input (malformed form, bad signature, app_id or amount
  /// mismatch, unknown payNo, a field we use that is not clean UTF-8), 503 when the database
  /// is unavailable, so the platform retries; 500 only for a bug. Idempotent: a repeated
  /// notification for a paid (or refunded) record writes and publishes nothing.
  /// A notification paying a paid or refunded record with ANOTHER trade_no is a second
  /// charge: recorded (PaymentTransaction::RecordConflict), logged as a warning with both
  /// trade numbers, counted in paynotify_notifications_pay_conflict_total, and answered
  /// "success" so the platform stops retrying.
  /// Hostile input: every echoed value is escaped and bounded (text::Printable), the reason
  /// line is at most ~1 KiB, and database error text is logged, never sent. Never throws.
  Reply HandleNotify(std::string_view content_type, std::string_view body);

  /// POST /orders: JSON in, {"orderId","payNo","status"} out (201 created, 200 existing);
  /// 400 with {"errors":[...]} for a bad body (see ParseNewOrder: depth, duplicate keys and
  /// NULs included), 409 when an order for the same outBusinessId exists with another user
  /// or amount, or is no longer unpaid; 503 when the database is unavailable. Replies are
  /// always valid JSON; echoed values escaped. Never throws.
  Reply HandleCreateOrder(std::string_view content_type, std::string_view body);

  /// GET /orders/payresult?payNo=N: the payment's current state as JSON; 400 / 404 / 503.
  /// Never throws.
  Reply HandlePayResult(std::optional<std::string> pay_no);

 private:
  Reply Notify(std::string_view content_type, std::string_view body);
  Reply CreateOrder(std::string_view content_type, std::string_view body);
  Reply PayResult(const std::optional<std::string>& pay_no);
  Reply Reject(int status, std::string_view metric_reason, std::string reason,
               std::string_view log_detail = {});
  /// A StoreError as a "failure" reply (POST /orders/paynotify) or as {"errors":[...]} (the
  /// JSON routes); both through the one mapping (status, metric reason, fixed client text).
  Reply NotifyStoreFailure(const StoreError& error, std::string_view what);
  Reply JsonStoreFailure(const StoreError& error, std::string_view route, std::string_view what);
  /// What the locked record means for a notification (the one decision, for both paths).
  enum class Verdict { kUnknown, kDuplicate, kConflict, kNotPayable, kAmountMismatch, kPay };
  static Verdict Decide(const std::optional<PaymentRow>& row, const PayNotification& n);
  /// A notification waiting for (or in) a group; lives on its caller's stack.
  struct Member {
    const PayNotification* n;
    const FormFields* fields;
    std::optional<Reply> reply;  ///< set under batch_mutex_ by the group's leader
  };

  /// The database part of POST /orders/paynotify: grouped, or alone when max_batch is 1.
  Reply Apply(const PayNotification& n, const FormFields& fields);
  /// The locking path: one notification in its own transaction. Throws StoreError.
  Reply ApplyOneOrThrow(const PayNotification& n, const FormFields& fields);
  /// One group (of one or more) in one statement, the fast path (OrderStore::PayIfPayable);
  /// what it leaves undecided goes the locking path alone (ApplyEachAlone), and a group
  /// whose statement failed is applied one by one (ApplyOneByOne). Returns a reply per
  /// member, in order. Never throws.
  std::vector<Reply> ApplyGroup(const std::vector<Member*>& group);
  std::vector<Reply> ApplyOneByOne(const std::vector<Member*>& group, const StoreError& error);
  std::vector<Reply> ApplyEachAlone(const std::vector<Member*>& members);
  /// Takes the next group from waiting_ (batch_mutex_ held).
  std::vector<Member*> TakeGroup();
  /// The answers, with their metrics and log lines: a decision that writes nothing; a
  /// committed payment; a committed conflict record.
  Reply Refuse(Verdict verdict, const std::optional<PaymentRow>& row, const PayNotification& n);
  Reply Paid(int64_t order_id, const PayNotification& n, const OutboxRowRef& outbox);
  Reply Conflicted(const PaymentRow& row, const PayNotification& n, bool recorded_now);
  PaidItem PaidItemFor(const PaymentRow& row, const PayNotification& n) const;

  IntakeSettings settings_;
  OrderStore& store_;
  std::optional<SignatureVerifier> verifier_;
  metrics::Registry& registry_;
  /// Rejected notifications are logged at most 20/s (bursts of 50): a flood of bad requests
  /// must not become a flood of log lines.
  log::LogBudget reject_log_budget_{20, 50};
  metrics::Counter& received_;
  metrics::Counter& applied_;
  metrics::Counter& duplicates_;
  metrics::Counter& ignored_;
  metrics::Counter& conflicts_;
  metrics::Histogram& batch_size_;
  metrics::Counter& batch_fallbacks_;
  metrics::Gauge& batch_waiting_;
  /// Failed groups are logged at most 5/s: a request that fails its group can be repeated.
  log::LogBudget fallback_log_budget_{5, 10};

  std::mutex batch_mutex_;
  std::condition_variable batch_done_;
  std::deque<Member*> waiting_;   // oldest first
  size_t batches_in_flight_ = 0;
};

/// {"errors":[...]} helper shared with the HTTP adapter. Never throws: a string that is not
/// valid UTF-8 is written with U+FFFD replacements.
std::string ErrorsJson(const std::vector<std::string>& errors);

}  // namespace paynotify::order

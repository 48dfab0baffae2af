#pragma once
/// The HTTP-independent intake logic of order-service: POST /orders, POST /orders/paynotify
/// and GET /orders/payresult as functions from request text to a reply. The HTTP adapter
/// (http_routes) only moves bytes; every decision, status code and reason is made here.
#include <cstdint>
#include <memory>
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
};

/// Thread-safe if the store is (every call is independent).
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
  Reply RecordConflict(PaymentTransaction& tx, const PaymentRow& row, const PayNotification& n,
                       const FormFields& fields);

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
};

/// {"errors":[...]} helper shared with the HTTP adapter. Never throws: a string that is not
/// valid UTF-8 is written with U+FFFD replacements.
std::string ErrorsJson(const std::vector<std::string>& errors);

}  // namespace paynotify::order

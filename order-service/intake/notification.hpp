#pragma once
/// The payment platform's asynchronous notification (Alipay-compatible), as the fields our
/// handler needs. Parsing is separate from the signature check: the signature covers the
/// raw form fields, this only extracts and validates what we use.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "order-service/intake/form.hpp"

namespace paynotify::order {

/// trade_status values that mean "paid" (others are acknowledged with no effect).
inline constexpr std::string_view kTradeSuccess = "TRADE_SUCCESS";
inline constexpr std::string_view kTradeFinished = "TRADE_FINISHED";

struct PayNotification {
  int64_t pay_no = 0;             ///< out_trade_no: our xc_pay_record.pay_no
  std::string trade_no;           ///< the platform's trade number -> out_pay_no
  std::string trade_status;       ///< TRADE_SUCCESS, TRADE_FINISHED, WAIT_BUYER_PAY, TRADE_CLOSED
  int64_t total_amount_cents = 0; ///< total_amount, exact
  std::string app_id;             ///< must equal our configured alipay.app-id

  bool IsPaid() const { return trade_status == kTradeSuccess || trade_status == kTradeFinished; }
};

/// `notification` is set exactly when `errors` is empty; each error names its field
/// ("out_trade_no: missing", "total_amount: expected at most 2 fraction digits ...").
struct NotificationParse {
  std::optional<PayNotification> notification;
  std::vector<std::string> errors;
};

/// Extracts out_trade_no, trade_no, trade_status, total_amount and app_id; every missing or
/// malformed one is reported. Each must be valid UTF-8 without control characters (so it can
/// be stored, compared and logged as it is) and without '&' or '=' (so the signed content
/// has one reading): "trade_no: not valid UTF-8" is bad input, never a database error.
/// Other fields are ignored (they still count for the signature). Echoed values are
/// escaped and bounded (text::Printable).
NotificationParse ParseNotification(const FormFields& fields);

/// Parses a pay number (decimal digits, 1..18 of them). nullopt when it is not one.
std::optional<int64_t> ParsePayNo(std::string_view text);

}  // namespace paynotify::order

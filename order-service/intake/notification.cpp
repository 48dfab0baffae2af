#include "order-service/intake/notification.hpp"

#include <fmt/format.h>

#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"
#include "order-service/intake/amount.hpp"

namespace paynotify::order {

namespace {

// Why a value we act on cannot be used, or empty. Control characters are C0, DEL and C1
// (U+0080..U+009F); '&' and '=' are refused because SignContent joins decoded values
// unescaped: with them a signed "k=v&k=v" text could be re-split into other fields.
std::string_view ValueProblem(std::string_view value) {
  bool control = false;
  for (size_t i = 0; i < value.size();) {
    const size_t length = text::WellFormedLength(value, i);
    if (length == 0) return "not valid UTF-8";
    const auto b0 = static_cast<unsigned char>(value[i]);
    if (length == 1 && (b0 < 0x20 || b0 == 0x7F)) control = true;
    if (length == 2 && b0 == 0xC2 && static_cast<unsigned char>(value[i + 1]) <= 0x9F) control = true;
    i += length;
  }
  if (control) return "contains a control character";
  if (value.find_first_of("&=") != std::string_view::npos) return "must not contain '&' or '='";
  return {};
}

}  // namespace

std::optional<int64_t> ParsePayNo(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

NotificationParse ParseNotification(const FormFields& fields) {
  NotificationParse result;
  PayNotification n;
  auto required = [&](const char* name, size_t max_length) -> const std::string* {
    const auto it = fields.find(name);
    if (it == fields.end() || it->second.empty()) {
      result.errors.push_back(fmt::format("{}: missing", name));
      return nullptr;
    }
    if (it->second.size() > max_length) {
      result.errors.push_back(fmt::format("{}: longer than {} characters", name, max_length));
      return nullptr;
    }
    if (const std::string_view problem = ValueProblem(it->second); !problem.empty()) {
      result.errors.push_back(fmt::format("{}: {}", name, problem));
      return nullptr;
    }
    return &it->second;
  };

  if (const auto* v = required("out_trade_no", 64)) {
    if (auto pay_no = ParsePayNo(*v)) {
      n.pay_no = *pay_no;
    } else {
      result.errors.push_back(
          fmt::format("out_trade_no: expected our payNo (decimal digits), got '{}'",
                      text::Printable(*v)));
    }
  }
  if (const auto* v = required("trade_no", 64)) n.trade_no = *v;
  if (const auto* v = required("trade_status", 32)) n.trade_status = *v;
  if (const auto* v = required("total_amount", 32)) {
    const AmountParse amount = ParseAmount(*v);
    if (amount.cents) {
      n.total_amount_cents = *amount.cents;
    } else {
      result.errors.push_back("total_amount: " + amount.error);
    }
  }
  if (const auto* v = required("app_id", 64)) n.app_id = *v;
  if (result.errors.empty()) result.notification = std::move(n);
  return result;
}

}  // namespace paynotify::order

#include "order-service/intake/amount.hpp"

#include <fmt/format.h>

#include "common/text/escape.hpp"

namespace paynotify::order {

namespace {
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The input is quoted escaped and bounded: the error reaches replies and log lines.
AmountParse Fail(std::string_view text, std::string_view why) {
  return AmountParse{std::nullopt, fmt::format("{}, got '{}'", why, text::Printable(text, 64))};
}
}  // namespace

AmountParse ParseAmount(std::string_view text) {
  constexpr std::string_view kExpected =
      "expected a decimal amount like 12.30 (digits, at most 2 fraction digits)";
  if (text.empty()) return Fail(text, kExpected);
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty())) {
    return Fail(text, kExpected);
  }
  for (char c : whole) {
    if (!IsDigit(c)) return Fail(text, kExpected);
  }
  for (char c : fraction) {
    if (!IsDigit(c)) return Fail(text, kExpected);
  }
  if (fraction.size() > 2) {
    return Fail(text, "expected at most 2 fraction digits (whole cents)");
  }
  // Leading zeros are harmless; skip them so the length check below is about magnitude.
  std::string_view significant = whole;
  while (significant.size() > 1 && significant.front() == '0') significant.remove_prefix(1);
  if (significant.size() > 8) return Fail(text, "amount too large (at most 99999999.99)");

  int64_t cents = 0;
  for (char c : significant) cents = cents * 10 + (c - '0');
  cents *= 100;
  if (fraction.size() >= 1) cents += (fraction[0] - '0') * 10;
  if (fraction.size() == 2) cents += fraction[1] - '0';
  if (cents > kMaxAmountCents) return Fail(text, "amount too large (at most 99999999.99)");
  return AmountParse{cents, {}};
}

std::string FormatAmount(int64_t cents) {
  const bool negative = cents < 0;
  // Avoid overflow on INT64_MIN by working in unsigned.
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  return fmt::format("{}{}.{:02}", negative ? "-" : "", magnitude / 100, magnitude % 100);
}

}  // namespace paynotify::order

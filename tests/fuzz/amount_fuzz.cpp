// Fuzz target: the amount parser (order-service/intake/amount.*), which reads total_amount
// of every payment notification and totalPrice of every POST /orders.
//
// Properties, beyond "no crash, no sanitizer report":
//  - exactly one of cents / error;
//  - it accepts exactly the documented grammar (digits, optionally '.' and 1 or 2 digits, at
//    most 99999999.99), checked against an independent reference reading;
//  - FormatAmount of what it accepts reads back to the same cents;
//  - the error text is printable and bounded (it is logged and sent back to the client).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "order-service/intake/amount.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using paynotify::order::kMaxAmountCents;

// The grammar of amount.hpp, read the slow obvious way.
std::optional<int64_t> ReferenceCents(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty()) return std::nullopt;
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 2)) return std::nullopt;
  for (const char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  for (const char c : fraction) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // Saturating: anything past the limit is simply "too large".
  int64_t cents = 0;
  for (const char c : whole) {
    cents = cents * 10 + (c - '0');
    if (cents > kMaxAmountCents) return std::nullopt;
  }
  cents *= 100;
  if (!fraction.empty()) cents += (fraction[0] - '0') * 10;
  if (fraction.size() == 2) cents += fraction[1] - '0';
  if (cents > kMaxAmountCents) return std::nullopt;
  return cents;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using paynotify::order::AmountParse;
  using paynotify::order::FormatAmount;
  using paynotify::order::ParseAmount;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const AmountParse parsed = ParseAmount(text);
  FUZZ_CHECK(parsed.cents.has_value() == parsed.error.empty(),
             "ParseAmount sets exactly one of cents and error");
  FUZZ_CHECK(parsed.cents == ReferenceCents(text),
             "ParseAmount accepts exactly the documented grammar, with the right value");
  if (parsed.cents) {
    FUZZ_CHECK(*parsed.cents >= 0 && *parsed.cents <= kMaxAmountCents, "cents within numeric(10,2)");
    const AmountParse again = ParseAmount(FormatAmount(*parsed.cents));
    FUZZ_CHECK(again.cents == parsed.cents, "FormatAmount reads back to the same cents");
  } else {
    FUZZ_CHECK_ERROR_TEXT(parsed.error);
  }

  // FormatAmount over any int64 (INT64_MIN included): no overflow, and in range it reads back.
  if (size >= sizeof(int64_t)) {
    int64_t cents = 0;
    std::memcpy(&cents, data, sizeof cents);
    const std::string formatted = FormatAmount(cents);
    FUZZ_CHECK(!formatted.empty(), "FormatAmount writes something");
    if (cents >= 0 && cents <= kMaxAmountCents) {
      FUZZ_CHECK(ParseAmount(formatted).cents == cents, "FormatAmount reads back in range");
    }
    FUZZ_CHECK((cents < 0) == (formatted.front() == '-'), "only negative amounts have a sign");
  }
  return 0;
}

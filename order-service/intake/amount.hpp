#pragma once
/// Money amounts as integer cents. Amounts arrive as decimal text ("12.30" in a payment
/// notification, "12.3" or 12.3 in POST /orders) and are stored as numeric(10,2); they are
/// compared exactly, never through a double.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paynotify::order {

/// Largest amount numeric(10,2) holds: 99999999.99.
inline constexpr int64_t kMaxAmountCents = 9'999'999'999;

/// Result of parsing an amount: `cents` when valid, otherwise `error` says why
/// ("expected a decimal amount with at most 2 fraction digits, got '1.234'").
struct AmountParse {
  std::optional<int64_t> cents;
  std::string error;
};

/// Parses a plain decimal: digits, optionally '.' and 1 or 2 digits ("0.01", "12.3",
/// "12.30", "7"). Rejects signs, exponents, spaces, empty parts ("12.", ".5"), more than
/// two fraction digits, and values above kMaxAmountCents. Zero parses (callers that need a
/// positive amount check that themselves). The error quotes at most 64 bytes of the input,
/// escaped (text::Printable). Pure; linear in the input.
AmountParse ParseAmount(std::string_view text);

/// Cents as decimal text with exactly two fraction digits: 1230 -> "12.30". Negative
/// values are written with a leading '-'.
std::string FormatAmount(int64_t cents);

}  // namespace paynotify::order

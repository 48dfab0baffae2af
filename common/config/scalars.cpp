// Scalar parsers of the config reader: the text of a value -> int, double, duration, bool,
// list. Kept apart from the reader so what a value may look like is in one short file.
#include "common/config/scalars.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace paynotify::config::detail {

std::string Trim(std::string_view s) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (auto as_int = ParseInt(text)) {
    if (*as_int < 0) return std::nullopt;
    return std::chrono::milliseconds{*as_int};
  }
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) != 0 || text[digits] == '.')) {
    ++digits;
  }
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  double unit_ms = 0;
  if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60'000;
  } else if (unit == "h") {
    unit_ms = 3'600'000;
  } else if (unit == "d") {  // retention periods (consumer.dedup-retention: 14d)
    unit_ms = 86'400'000;
  } else {
    return std::nullopt;
  }
  const auto value = ParseDouble(number);
  if (!value || *value < 0) return std::nullopt;
  const double ms = *value * unit_ms;
  if (ms > 1e15) return std::nullopt;  // ~31 000 years: certainly a mistake
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(ms))};
}

std::optional<bool> ParseBool(std::string_view text) {
  const std::string lower = Lower(text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    std::string item =
        Trim(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string IntRange(int64_t min, int64_t max) {
  constexpr auto kMin = std::numeric_limits<int64_t>::min();
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  if (min == kMin && max == kMax) return "an integer";
  if (max == kMax) return fmt::format("an integer >= {}", min);
  if (min == kMin) return fmt::format("an integer <= {}", max);
  return fmt::format("an integer between {} and {}", min, max);
}

std::string DoubleRange(double min, double max) {
  constexpr auto kMin = std::numeric_limits<double>::lowest();
  constexpr auto kMax = std::numeric_limits<double>::max();
  if (min == kMin && max == kMax) return "a number";
  if (max == kMax) return fmt::format("a number >= {}", min);
  if (min == kMin) return fmt::format("a number <= {}", max);
  return fmt::format("a number between {} and {}", min, max);
}

}  // namespace paynotify::config::detail

#pragma once
// Internal to common/config (not part of its interface): the text of one scalar value ->
// a typed value. Pure functions of the text; no YAML, no error messages beyond the
// "expected ..." phrases the reader quotes. Thread-safe.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paynotify::config::detail {

/// `s` without leading and trailing white space.
std::string Trim(std::string_view s);
/// ASCII lower case.
std::string Lower(std::string_view s);
/// A whole decimal integer (an optional leading '+'); nullopt on anything else or overflow.
std::optional<int64_t> ParseInt(std::string_view text);
/// A whole finite decimal number (an optional leading '+'); nullopt otherwise.
std::optional<double> ParseDouble(std::string_view text);
/// "250ms", "2s", "1.5s", "1m", "1h", "14d" (days of 24h) or a plain non-negative integer of milliseconds;
/// nullopt for a negative, unitless decimal or absurdly large (> ~31 000 years) value.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);
/// true/yes/on, false/no/off (case-insensitive); nullopt otherwise.
std::optional<bool> ParseBool(std::string_view text);
/// "a, b,,c " -> {"a", "b", "c"}: comma-separated, trimmed, empty items dropped.
std::vector<std::string> SplitList(std::string_view text);
/// "an integer between 1 and 10", "an integer >= 0", ... for the limits given.
std::string IntRange(int64_t min, int64_t max);
/// "a number between 1 and 100", ... for the limits given.
std::string DoubleRange(double min, double max);

}  // namespace paynotify::config::detail

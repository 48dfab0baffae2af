#pragma once
/// PostgreSQL array literals ('{...}') for passing a whole set as ONE parameter, e.g.
/// `WHERE id = ANY($1::bigint[])`. libpqxx 6.4 (Debian 12) has no container conversions, and
/// set-based statements are how batches stay at a fixed number of round trips.
#include <cstdint>
#include <span>
#include <string>

namespace paynotify::pg {

/// {1,2,3}
std::string ArrayLiteral(std::span<const int64_t> values);
/// {"a","b\"c"}: every element double-quoted, '"' and '\' backslash-escaped, so any text
/// (commas, braces, spaces, the word NULL) arrives unchanged. Elements must not contain NUL,
/// which PostgreSQL text cannot hold anyway.
std::string ArrayLiteral(std::span<const std::string> values);

}  // namespace paynotify::pg

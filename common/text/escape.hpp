#pragma once
/// Making untrusted text safe to print: in a log line, an error message or a reply.
#include <cstddef>
#include <string>
#include <string_view>

namespace paynotify::text {

/// The default bound for one untrusted value in a log line or an error message.
inline constexpr size_t kPrintableLimit = 256;

/// `text` as one printable line of at most about `max_bytes` bytes (plus the escapes and the
/// truncation marker): well-formed printable UTF-8 passes through; backslash, control
/// characters (C0, DEL, C1), U+2028/U+2029 and every ill-formed byte become escapes (\\, \n,
/// \r, \t, \xNN, \u2028), so the result can never start a new log line, forge a field or
/// carry invalid UTF-8. Longer input is cut at a character boundary and marked
/// "...(+N bytes)". Linear in min(text.size(), max_bytes).
std::string Printable(std::string_view text, size_t max_bytes = kPrintableLimit);

/// `text` cut to at most `max_bytes` (plus a "..." marker) at a character boundary, for
/// text whose parts were already escaped but whose whole still needs a bound (a reply built
/// of several escaped values). Ill-formed bytes count as one-byte characters.
std::string CutToBytes(std::string text, size_t max_bytes);

}  // namespace paynotify::text

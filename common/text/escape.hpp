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
/// characters (C0, DEL, C1), U+2028/U+2029, format characters (IsFormatCharacter) and every
/// ill-formed byte become escapes (\\, \n, \r, \t, \xNN, \u2028, \u202E, \U000E0041), so the
/// result can never start a new log line, forge a field, reorder or hide characters, or
/// carry invalid UTF-8. Longer input is cut at a character boundary and marked
/// "...(+N bytes)". Linear in min(text.size(), max_bytes).
std::string Printable(std::string_view text, size_t max_bytes = kPrintableLimit);

/// True for Unicode's format characters (General Category Cf): bidi controls (U+061C,
/// U+200E/U+200F, U+202A..U+202E, U+2066..U+2069), zero-width ones (U+200B..U+200D,
/// U+2060..U+2064, U+FEFF), the soft hyphen, tags (U+E0001, U+E0020..U+E007F) and the rest.
/// They show no glyph, and the bidi ones reorder the text after them on a terminal.
bool IsFormatCharacter(char32_t c);

/// True for the code points Printable prints as a code point escape rather than as
/// themselves: C1 controls, U+2028/U+2029 and format characters. The escape is "\uXXXX"
/// (6 columns), or "\UXXXXXXXX" (10 columns) above U+FFFF.
bool IsEscapedAsCodePoint(char32_t c);

/// `text` cut to at most `max_bytes` (plus a "..." marker) at a character boundary, for
/// text whose parts were already escaped but whose whole still needs a bound (a reply built
/// of several escaped values). Ill-formed bytes count as one-byte characters.
std::string CutToBytes(std::string text, size_t max_bytes);

}  // namespace paynotify::text

#pragma once
/// UTF-8 validation for untrusted bytes (message bodies, HTTP fields, log text). Pure
/// functions, linear in the input.
#include <cstddef>
#include <string_view>
#include <vector>

namespace paynotify::text {

/// Byte offsets (0-based) where an ill-formed UTF-8 sequence starts, per RFC 3629: overlong
/// forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes
/// and truncated sequences are all ill-formed. Each bad sequence is reported once, at its
/// first byte; scanning resumes at the next byte.
std::vector<size_t> InvalidUtf8Offsets(std::string_view text);

/// Length of the well-formed UTF-8 sequence starting at text[i] (1..4), or 0 if the bytes
/// there are ill-formed. Precondition: i < text.size().
size_t WellFormedLength(std::string_view text, size_t i);

/// True when the whole text is well-formed UTF-8 (stops at the first bad byte).
bool IsValidUtf8(std::string_view text);

}  // namespace paynotify::text

#pragma once
/// UTF-8 validation used by the codec (internal to paynotify_messages, but header-visible so
/// the unit tests can exercise it directly). Pure functions.
#include <cstddef>
#include <string_view>
#include <vector>

namespace paynotify::messages::internal {

/// Byte offsets (0-based) where an ill-formed UTF-8 sequence starts, per RFC 3629: overlong
/// forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes
/// and truncated sequences are all ill-formed. Each bad sequence is reported once, at its
/// first byte; scanning resumes at the next byte.
std::vector<size_t> InvalidUtf8Offsets(std::string_view text);

inline bool IsValidUtf8(std::string_view text) { return InvalidUtf8Offsets(text).empty(); }

}  // namespace paynotify::messages::internal

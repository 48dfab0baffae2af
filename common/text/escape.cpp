#include "common/text/escape.hpp"

#include <fmt/format.h>

#include "common/text/utf8.hpp"

namespace paynotify::text {

std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  size_t i = 0;
  while (i < text.size() && i < max_bytes) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const size_t length = WellFormedLength(text, i);
    if (length == 0) {
      out += fmt::format("\\x{:02X}", byte);
      i += 1;
      continue;
    }
    if (length == 1) {
      switch (byte) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (byte < 0x20 || byte == 0x7F) {
            out += fmt::format("\\x{:02X}", byte);
          } else {
            out += static_cast<char>(byte);
          }
      }
      i += 1;
      continue;
    }
    if (i + length > max_bytes) break;  // never cut a character in half
    const std::string_view sequence = text.substr(i, length);
    // C1 controls (U+0080..U+009F) and the Unicode line/paragraph separators break lines
    // in some viewers; print them as code points.
    if (sequence[0] == '\xC2' && static_cast<unsigned char>(sequence[1]) <= 0x9F) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned char>(sequence[1]));
    } else if (sequence == "\xE2\x80\xA8" || sequence == "\xE2\x80\xA9") {
      out += sequence == "\xE2\x80\xA8" ? "\\u2028" : "\\u2029";
    } else {
      out += sequence;
    }
    i += length;
  }
  if (i < text.size()) out += fmt::format("...(+{} bytes)", text.size() - i);
  return out;
}

std::string CutToBytes(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t keep = 0;
  while (keep < text.size()) {
    const size_t length = WellFormedLength(text, keep);
    const size_t step = length == 0 ? 1 : length;
    if (keep + step > max_bytes) break;
    keep += step;
  }
  text.resize(keep);
  text += "...";
  return text;
}

}  // namespace paynotify::text

#include "common/text/escape.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "common/text/utf8.hpp"

namespace paynotify::text {

namespace {

// Unicode's format characters (General Category Cf, Unicode 15.1), sorted: bidi controls
// (U+061C, U+200E/F, U+202A..E, U+2066..9), zero-width ones (U+200B..D, U+2060..4, U+FEFF),
// the soft hyphen, tags (U+E0001, U+E0020..7F) and the rest. None of them shows a glyph;
// the bidi ones reorder what follows on a terminal.
constexpr std::array<std::pair<char32_t, char32_t>, 21> kFormatCharacters{{
    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
    {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},
    {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F},
}};

// The code point of the well-formed sequence text[i..i+length) (length 1..4).
char32_t Decode(std::string_view text, size_t i, size_t length) {
  const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[i + k])); };
  switch (length) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

}  // namespace

bool IsFormatCharacter(char32_t c) {
  const auto* range = std::lower_bound(kFormatCharacters.begin(), kFormatCharacters.end(), c,
                                       [](const auto& r, char32_t v) { return r.second < v; });
  return range != kFormatCharacters.end() && range->first <= c;
}

bool IsEscapedAsCodePoint(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029 || IsFormatCharacter(c);
}

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
    // C1 controls and the Unicode line/paragraph separators break lines in some viewers;
    // format characters are invisible and the bidi ones reorder a line (a forged id that
    // displays as another). Print them all as code points.
    const char32_t c = Decode(text, i, length);
    if (IsEscapedAsCodePoint(c)) {
      const auto code = static_cast<uint32_t>(c);
      out += code > 0xFFFF ? fmt::format("\\U{:08X}", code) : fmt::format("\\u{:04X}", code);
    } else {
      out += text.substr(i, length);
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

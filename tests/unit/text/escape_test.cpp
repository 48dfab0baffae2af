#include "common/text/escape.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/text/utf8.hpp"

namespace paynotify::text {
namespace {

TEST(Printable, KeepsPrintableUtf8) {
  EXPECT_EQ(Printable("RSA2 ok"), "RSA2 ok");
  EXPECT_EQ(Printable("\xE8\xAF\xBE\xE7\xA8\x8B"), "\xE8\xAF\xBE\xE7\xA8\x8B");  // 课程
}

TEST(Printable, EscapesEverythingThatCouldForgeALine) {
  EXPECT_EQ(Printable("RSA2\n2026-01-01 info intake: forged"),
            "RSA2\\n2026-01-01 info intake: forged");
  EXPECT_EQ(Printable("a\rb\tc\\d"), "a\\rb\\tc\\\\d");
  EXPECT_EQ(Printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(Printable("\x1b[31mred"), "\\x1B[31mred");
  EXPECT_EQ(Printable("\xC2\x85"), "\\u0085");            // NEL, a C1 control
  EXPECT_EQ(Printable("x\xE2\x80\xA8y"), "x\\u2028y");    // LINE SEPARATOR
}

// The UTF-8 encoding of a code point (the tests name code points, not bytes).
std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

TEST(Printable, EscapesBidiControlsAndZeroWidthCharacters) {
  const std::pair<char32_t, std::string> cases[] = {
      // bidi controls: ALM, LRM..RLM, LRE..RLO, LRI..PDI
      {0x061C, "\\u061C"}, {0x200E, "\\u200E"}, {0x200F, "\\u200F"}, {0x202A, "\\u202A"},
      {0x202E, "\\u202E"}, {0x2066, "\\u2066"}, {0x2069, "\\u2069"},
      // zero width: ZWSP..ZWJ, WORD JOINER..INVISIBLE PLUS, BOM / ZWNBSP
      {0x200B, "\\u200B"}, {0x200D, "\\u200D"}, {0x2060, "\\u2060"}, {0x2064, "\\u2064"},
      {0xFEFF, "\\uFEFF"},
      // other format characters: soft hyphen, deprecated format controls, Arabic number
      // sign, interlinear annotation, tags (above U+FFFF: eight digits)
      {0x00AD, "\\u00AD"}, {0x206F, "\\u206F"}, {0x0600, "\\u0600"}, {0xFFFB, "\\uFFFB"},
      {0xE0001, "\\U000E0001"}, {0xE0020, "\\U000E0020"}, {0xE007F, "\\U000E007F"},
  };
  for (const auto& [code_point, escaped] : cases) {
    EXPECT_TRUE(IsFormatCharacter(code_point)) << std::hex << static_cast<uint32_t>(code_point);
    EXPECT_EQ(Printable("a" + Utf8(code_point) + "b"), "a" + escaped + "b");
  }
}

TEST(Printable, LeavesTheNeighboursOfFormatCharactersAlone) {
  // Each printable code point just outside one of the escaped ranges passes through.
  for (const char32_t c : {0x00AC, 0x00AE, 0x061B, 0x061D, 0x200A, 0x2010, 0x202F, 0x205F, 0x2070,
                           0xFEFE, 0xFFFC, 0xE0000 + 0x80, 0x1F600}) {
    EXPECT_FALSE(IsFormatCharacter(c)) << std::hex << static_cast<uint32_t>(c);
    EXPECT_EQ(Printable(Utf8(c)), Utf8(c)) << std::hex << static_cast<uint32_t>(c);
  }
  EXPECT_FALSE(IsFormatCharacter(U'a'));
  EXPECT_FALSE(IsEscapedAsCodePoint(0x7F));  // ASCII controls are \xNN, not code points
  EXPECT_TRUE(IsEscapedAsCodePoint(0x85));
  EXPECT_TRUE(IsEscapedAsCodePoint(0x2028));
  EXPECT_TRUE(IsEscapedAsCodePoint(0x202E));
}

TEST(Printable, AForgedIdCannotReorderOrHideItsCharacters) {
  // "pay-" RLO "fdp.exe" PDF ZWSP "9" BOM: displays reversed and with invisible characters
  // when printed raw; escaped, every byte is visible ASCII or the CJK name it carried.
  const std::string id = "pay-" + Utf8(0x202E) + "fdp.exe" + Utf8(0x202C) + Utf8(0x200B) + "9" +
                         Utf8(0xFEFF) + "\xE8\xAF\xBE";
  const std::string out = Printable(id);
  EXPECT_EQ(out, "pay-\\u202Efdp.exe\\u202C\\u200B9\\uFEFF\xE8\xAF\xBE");
  EXPECT_TRUE(IsValidUtf8(out));
}

TEST(Printable, AFormatCharacterThatDoesNotFitIsLeftOutWhole) {
  EXPECT_EQ(Printable("ab" + Utf8(0x202E), 4), "ab...(+3 bytes)");
  EXPECT_EQ(Printable("ab" + Utf8(0x202E), 5), "ab\\u202E");
}

TEST(Printable, EscapesIllFormedBytesSoTheResultIsValidUtf8) {
  const std::string out = Printable("\xFF\xFE ok \xC3");
  EXPECT_EQ(out, "\\xFF\\xFE ok \\xC3");
  EXPECT_TRUE(IsValidUtf8(out));
}

TEST(Printable, TruncatesAtTheBoundAndSaysHowMuchWasCut) {
  const std::string long_text(10000, 'a');
  EXPECT_EQ(Printable(long_text, 10), "aaaaaaaaaa...(+9990 bytes)");
  // A multi-byte character that does not fit is left out whole, not cut.
  EXPECT_EQ(Printable("ab\xE8\xAF\xBE", 4), "ab...(+3 bytes)");
}

TEST(Printable, IsLinearOnHostileInput) {
  const std::string hostile(4 * 1024 * 1024, '\xFF');
  const std::string out = Printable(hostile, 64);
  EXPECT_LT(out.size(), 300u);
}

TEST(CutToBytes, CutsAtACharacterBoundaryAndMarksTheCut) {
  EXPECT_EQ(CutToBytes("short", 10), "short");
  EXPECT_EQ(CutToBytes("abcdef", 3), "abc...");
  EXPECT_EQ(CutToBytes("ab\xE8\xAF\xBE", 4), "ab...");  // never half a character
}

}  // namespace
}  // namespace paynotify::text

#include "common/text/escape.hpp"

#include <string>

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

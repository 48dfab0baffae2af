#include "common/text/utf8.hpp"

#include <gtest/gtest.h>

namespace paynotify::text {
namespace {

using Offsets = std::vector<size_t>;

TEST(Utf8, AcceptsAsciiAndMultiByteCharacters) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));          // é
  EXPECT_TRUE(IsValidUtf8("\xE8\xAF\xBE"));      // 课
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, ReportsEachIllFormedByte) {
  EXPECT_EQ(InvalidUtf8Offsets("ab\xFF"), Offsets({2}));
  EXPECT_EQ(InvalidUtf8Offsets("\x80"), Offsets({0}));               // stray continuation
  EXPECT_EQ(InvalidUtf8Offsets("\xC0\xAF"), Offsets({0, 1}));        // overlong '/'
  EXPECT_EQ(InvalidUtf8Offsets("\xE0\x80\xAF"), Offsets({0, 1, 2}));  // overlong
  EXPECT_EQ(InvalidUtf8Offsets("\xED\xA0\x80"), Offsets({0, 1, 2}));  // surrogate U+D800
  EXPECT_EQ(InvalidUtf8Offsets("\xF4\x90\x80\x80"), Offsets({0, 1, 2, 3}));  // > U+10FFFF
  EXPECT_EQ(InvalidUtf8Offsets("x\xE8\xAF"), Offsets({1, 2}));       // truncated at the end
  EXPECT_EQ(InvalidUtf8Offsets("\xE8\xAFx"), Offsets({0, 1}));       // truncated mid-text
}

}  // namespace
}  // namespace paynotify::text

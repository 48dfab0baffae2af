// Text tables and key/value blocks: aligned, bounded, and every untrusted byte escaped; the
// JSON document never throws on invalid UTF-8.
#include "paynotifyctl/cli/output.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/text/utf8.hpp"

namespace paynotify::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

TEST(CtlTable, ColumnsAreAlignedAndNumbersRightAligned) {
  Table t({"ID", "NAME", "NOTE"});
  t.AlignRight(0);
  t.AddRow({"7", "alpha", "x"});
  t.AddRow({"12345", std::nullopt, "y"});
  EXPECT_EQ(t.Render(),
            "   ID  NAME   NOTE\n"
            "    7  alpha  x\n"
            "12345  -      y\n");
}

TEST(CtlTable, AnEmptyTableSaysSo) {
  Table t({"ID", "NAME"});
  EXPECT_EQ(t.Render(), "ID  NAME\n(none)\n");
  EXPECT_EQ(t.Rows(), 0u);
}

TEST(CtlTable, UntrustedCellsAreEscapedAndBounded) {
  Table t({"A", "B"});
  t.Limit(1, 8);
  t.AddRow({std::string("evil\x1b[31m\nline\r\x7f\xff", 17), std::string(100, 'z')});
  const std::string out = t.Render();
  EXPECT_THAT(out, HasSubstr("evil\\x1B[31m\\nline\\r\\x7F\\xFF"));
  EXPECT_THAT(out, HasSubstr("zzzzzzzz...(+92 bytes)"));
  EXPECT_EQ(Lines(out).size(), 2u) << "a newline in a cell must not start a row";
  EXPECT_TRUE(text::IsValidUtf8(out));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
}

TEST(CtlTable, WideCharactersCountTwoColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("\xe8\xaf\xbe\xe7\xa8\x8b"), 4u);  // 课程: two wide characters
  EXPECT_EQ(DisplayWidth("e\xcc\x81"), 1u);                  // e + combining acute accent
  EXPECT_EQ(DisplayWidth("\xff"), 1u);
  Table t({"NAME", "ID"});
  t.AddRow({"\xe8\xaf\xbe\xe7\xa8\x8b", "1"});
  t.AddRow({"abcdef", "2"});
  const auto lines = Lines(t.Render());
  ASSERT_EQ(lines.size(), 3u);
  // The ID column starts at the same terminal column on every line.
  EXPECT_EQ(DisplayWidth(lines[1].substr(0, lines[1].find('1'))), DisplayWidth(lines[2].substr(0, lines[2].find('2'))));
}

TEST(CtlTable, BidiAndZeroWidthCharactersAreShownEscapedAndAligned) {
  // U+202E RIGHT-TO-LEFT OVERRIDE and U+200B ZERO WIDTH SPACE: escaped, so a forged id can
  // neither reorder its row nor hide characters; counted as their escapes' columns.
  const std::string rlo = "\xe2\x80\xae";
  const std::string zwsp = "\xe2\x80\x8b";
  EXPECT_EQ(DisplayWidth(rlo), 6u);
  EXPECT_EQ(DisplayWidth("a" + zwsp + "b"), 8u);
  EXPECT_EQ(DisplayWidth("\xf3\xa0\x81\x81"), 10u);  // U+E0041 TAG LATIN CAPITAL LETTER A
  EXPECT_EQ(DisplayWidth("\xc2\x85"), 6u);              // NEL, escaped as \u0085
  Table t({"ID", "N"});
  t.AddRow({"pay-" + rlo + "cba" + zwsp, "1"});
  t.AddRow({"abcdef", "2"});
  const std::string out = t.Render();
  EXPECT_THAT(out, HasSubstr("pay-\\u202Ecba\\u200B  1\n"));
  EXPECT_THAT(out, Not(HasSubstr(rlo)));
  EXPECT_THAT(out, Not(HasSubstr(zwsp)));
  const auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].find('1'), lines[2].find('2')) << out;  // all ASCII now: bytes are columns
}

TEST(CtlTable, TooManyCellsIsAProgrammingError) {
  Table t({"A"});
  EXPECT_THROW(t.AddRow({"1", "2"}), std::invalid_argument);
}

TEST(CtlKeyValues, AlignedEscapedAndBounded) {
  const std::string out = KeyValues({{"pending", "3"}, {"oldest pending", std::nullopt}, {"x", "a\nb"}}, 256);
  EXPECT_EQ(out,
            "pending:         3\n"
            "oldest pending:  -\n"
            "x:               a\\nb\n");
  EXPECT_THAT(KeyValues({{"k", std::string(50, 'v')}}, 10), HasSubstr("vvvvvvvvvv...(+40 bytes)"));
}

TEST(CtlJson, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json doc = {{"name", std::string("bad\xff\xfe utf8")}, {"ctl", std::string("\x1b[2J")}};
  std::string out;
  ASSERT_NO_THROW(out = DumpJson(doc));
  EXPECT_TRUE(text::IsValidUtf8(out));
  EXPECT_THAT(out, HasSubstr("bad\xef\xbf\xbd\xef\xbf\xbd utf8"));  // U+FFFD twice
  EXPECT_THAT(out, HasSubstr("\\u001b[2J"));
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(nlohmann::json::parse(out)["ctl"], "\x1b[2J");
}

TEST(CtlJson, OrNull) {
  EXPECT_TRUE(OrNull(std::nullopt).is_null());
  EXPECT_EQ(OrNull(std::string("x")), "x");
}

TEST(CtlFormat, SecondsReadAsAges) {
  EXPECT_EQ(FormatSeconds(0), "0s");
  EXPECT_EQ(FormatSeconds(59.9), "59s");
  EXPECT_EQ(FormatSeconds(252), "4m12s");
  EXPECT_EQ(FormatSeconds(7500), "2h05m");
  EXPECT_EQ(FormatSeconds(3 * 86400 + 4 * 3600 + 5), "3d04h");
  EXPECT_EQ(FormatSeconds(-5), "-5s");
}

}  // namespace
}  // namespace paynotify::ctl

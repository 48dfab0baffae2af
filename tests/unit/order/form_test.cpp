#include "order-service/intake/form.hpp"

#include <gtest/gtest.h>

namespace paynotify::order {
namespace {

TEST(ParseForm, DecodesPercentEscapesAndPlus) {
  const FormParse form = ParseForm("subject=%E8%AF%BE%E7%A8%8B+A&sign=ab%2Bc%3D%3D&empty=&flag");
  ASSERT_TRUE(form.errors.empty());
  EXPECT_EQ(form.fields.at("subject"), "\xE8\xAF\xBE\xE7\xA8\x8B A");
  EXPECT_EQ(form.fields.at("sign"), "ab+c==");
  EXPECT_EQ(form.fields.at("empty"), "");
  EXPECT_EQ(form.fields.at("flag"), "");
}

TEST(ParseForm, ReportsDuplicatesByName) {
  const FormParse form = ParseForm("a=1&total_amount=1.00&total_amount=2.00");
  ASSERT_EQ(form.errors.size(), 1u);
  EXPECT_EQ(form.errors[0], "form: field 'total_amount' appears more than once");
}

TEST(ParseForm, ReportsBadEscapes) {
  const FormParse form = ParseForm("subject=%ZZ&x=%4");
  ASSERT_EQ(form.errors.size(), 2u);
  EXPECT_EQ(form.errors[0], "form: bad percent-escape in field 'subject'");
  EXPECT_EQ(form.errors[1], "form: bad percent-escape in field 'x'");
}

TEST(ParseForm, SkipsEmptyPairs) {
  const FormParse form = ParseForm("&&a=1&&");
  EXPECT_TRUE(form.errors.empty());
  EXPECT_EQ(form.fields.size(), 1u);
}

TEST(UrlEncode, RoundTrips) {
  const std::string text = "a b+c=d&e/é";
  std::string decoded;
  ASSERT_TRUE(UrlDecode(UrlEncode(text), decoded));
  EXPECT_EQ(decoded, text);
}

}  // namespace
}  // namespace paynotify::order

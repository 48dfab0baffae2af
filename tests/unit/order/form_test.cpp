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

namespace paynotify::order {
namespace {

// Issue 10 §1: a form is bounded in fields and bytes per field, its names are plain
// identifiers (so the signed "k=v&k=v" content keeps one reading), and its errors are few,
// short and printable whatever the body holds.
TEST(ParseForm, BoundsTheNumberOfFields) {
  std::string body;
  for (size_t i = 0; i < kMaxFormFields; ++i) body += "f" + std::to_string(i) + "=1&";
  EXPECT_TRUE(ParseForm(body).errors.empty());
  const FormParse over = ParseForm(body + "one_more=1");
  EXPECT_EQ(over.errors, std::vector<std::string>{"form: more than 100 fields"});
}

TEST(ParseForm, BoundsFieldSizes) {
  EXPECT_TRUE(ParseForm("v=" + std::string(kMaxFormValueBytes, 'x')).errors.empty());
  EXPECT_EQ(ParseForm("v=" + std::string(kMaxFormValueBytes + 1, 'x')).errors,
            std::vector<std::string>{"form: field 'v' is longer than 16384 bytes"});
  EXPECT_EQ(ParseForm(std::string(kMaxFormNameBytes + 1, 'n') + "=1").errors,
            std::vector<std::string>{"form: a field name is longer than 64 bytes"});
}

TEST(ParseForm, NamesAreLettersDigitsAndUnderscores) {
  EXPECT_TRUE(ParseForm("gmt_payment=1&Abc_9=2").errors.empty());
  for (const char* body : {"a%26b=1", "a%3Db=1", "a+b=1", "a%0Ab=1", "%FF=1", "a.b=1"}) {
    const FormParse form = ParseForm(body);
    ASSERT_EQ(form.errors.size(), 1u) << body;
    EXPECT_NE(form.errors[0].find("only letters, digits and '_'"), std::string::npos) << form.errors[0];
  }
}

TEST(ParseForm, ErrorsAreFewShortAndPrintable) {
  std::string body;
  for (int i = 0; i < 50; ++i) body += "a%0A" + std::to_string(i) + "=%ZZ&";
  const FormParse form = ParseForm(body);
  ASSERT_EQ(form.errors.size(), kMaxFormErrors + 1);
  EXPECT_EQ(form.errors.back(), "form: further problems not listed");
  for (const auto& e : form.errors) {
    EXPECT_LT(e.size(), 400u);
    for (unsigned char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << e;
  }
}

}  // namespace
}  // namespace paynotify::order

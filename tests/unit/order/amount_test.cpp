#include "order-service/intake/amount.hpp"

#include <gtest/gtest.h>

namespace paynotify::order {
namespace {

TEST(ParseAmount, AcceptsPlainDecimals) {
  EXPECT_EQ(ParseAmount("0.01").cents, 1);
  EXPECT_EQ(ParseAmount("12.3").cents, 1230);
  EXPECT_EQ(ParseAmount("12.30").cents, 1230);
  EXPECT_EQ(ParseAmount("7").cents, 700);
  EXPECT_EQ(ParseAmount("0").cents, 0);
  EXPECT_EQ(ParseAmount("99999999.99").cents, kMaxAmountCents);
  EXPECT_EQ(ParseAmount("0012.30").cents, 1230);
}

TEST(ParseAmount, RejectsEverythingElseWithAReason) {
  for (const char* bad : {"-1", "+1", "1.234", "abc", "1e3", "", " 1", "1 ", "12.", ".5", "1,00",
                          "0x10", "100000000", "1.2.3", "NaN"}) {
    const AmountParse parsed = ParseAmount(bad);
    EXPECT_FALSE(parsed.cents.has_value()) << bad;
    EXPECT_NE(parsed.error.find(std::string("'") + bad + "'"), std::string::npos)
        << "error should quote the input: " << parsed.error;
  }
  EXPECT_NE(ParseAmount("1.234").error.find("at most 2 fraction digits"), std::string::npos);
}

TEST(FormatAmount, WritesTwoFractionDigits) {
  EXPECT_EQ(FormatAmount(1230), "12.30");
  EXPECT_EQ(FormatAmount(1), "0.01");
  EXPECT_EQ(FormatAmount(0), "0.00");
  EXPECT_EQ(FormatAmount(-150), "-1.50");
}

}  // namespace
}  // namespace paynotify::order

namespace paynotify::order {
namespace {

// Issue 10: the error quotes the input, escaped and bounded (it reaches replies and logs).
TEST(ParseAmount, ErrorsQuoteABoundedEscapedInput) {
  const AmountParse long_one = ParseAmount(std::string(100000, '1') + "\n");
  EXPECT_FALSE(long_one.cents);
  EXPECT_LT(long_one.error.size(), 500u);
  EXPECT_EQ(long_one.error.find('\n'), std::string::npos);
  EXPECT_NE(ParseAmount("1\xFF").error.find("'1\\xFF'"), std::string::npos) << ParseAmount("1\xFF").error;
  // Many leading zeros are harmless and linear.
  EXPECT_EQ(ParseAmount(std::string(100000, '0') + "1.5").cents, 150);
}

}  // namespace
}  // namespace paynotify::order

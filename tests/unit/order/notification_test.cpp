#include "order-service/intake/notification.hpp"

#include <gtest/gtest.h>

namespace paynotify::order {
namespace {

TEST(ParseNotification, ExtractsTheFieldsWeUse) {
  const NotificationParse parsed = ParseNotification({{"out_trade_no", "1000000000001"},
                                                      {"trade_no", "T1"},
                                                      {"trade_status", "TRADE_SUCCESS"},
                                                      {"total_amount", "12.3"},
                                                      {"app_id", "app"},
                                                      {"subject", "ignored"}});
  ASSERT_TRUE(parsed.notification) << parsed.errors.at(0);
  EXPECT_EQ(parsed.notification->pay_no, 1000000000001);
  EXPECT_EQ(parsed.notification->total_amount_cents, 1230);
  EXPECT_TRUE(parsed.notification->IsPaid());
}

TEST(ParseNotification, NamesEveryMissingField) {
  const NotificationParse parsed = ParseNotification({{"trade_status", "TRADE_SUCCESS"}});
  EXPECT_FALSE(parsed.notification);
  EXPECT_EQ(parsed.errors, (std::vector<std::string>{"out_trade_no: missing", "trade_no: missing",
                                                     "total_amount: missing", "app_id: missing"}));
}

TEST(ParseNotification, NamesMalformedFields) {
  const NotificationParse parsed = ParseNotification({{"out_trade_no", "12ab"},
                                                      {"trade_no", "T1"},
                                                      {"trade_status", "TRADE_SUCCESS"},
                                                      {"total_amount", "1e3"},
                                                      {"app_id", "app"}});
  ASSERT_EQ(parsed.errors.size(), 2u);
  EXPECT_EQ(parsed.errors[0], "out_trade_no: expected our payNo (decimal digits), got '12ab'");
  EXPECT_EQ(parsed.errors[1].rfind("total_amount: ", 0), 0u);
}

TEST(ParseNotification, OtherStatusesAreNotPaid) {
  PayNotification n;
  n.trade_status = "WAIT_BUYER_PAY";
  EXPECT_FALSE(n.IsPaid());
  n.trade_status = "TRADE_FINISHED";
  EXPECT_TRUE(n.IsPaid());
}

}  // namespace
}  // namespace paynotify::order

namespace paynotify::order {
namespace {

FormFields Good() {
  return {{"out_trade_no", "1000000000001"}, {"trade_no", "2024010122001400001"},
          {"trade_status", "TRADE_SUCCESS"}, {"total_amount", "12.30"}, {"app_id", "app"}};
}

// Issue 10 §1 "500 for bad input": a field we store, compare or log must be text we can keep:
// valid UTF-8 (PostgreSQL refuses anything else), no control characters (no NUL, which
// libpq would cut), and for the signed content one reading only: no '&' or '=' in the
// values we act on (SignContent joins decoded values unescaped, so "a=1&b=2" could be
// re-split into other fields with the same signature).
TEST(ParseNotification, FieldsWeUseAreCleanUnambiguousText) {
  for (const std::string field : {"out_trade_no", "trade_no", "trade_status", "total_amount", "app_id"}) {
    struct Case {
      std::string value;
      std::string error;
    };
    for (const Case& c : {Case{"\xC3\x28", field + ": not valid UTF-8"},
                          Case{std::string("a\0b", 3), field + ": contains a control character"},
                          Case{"a\rb", field + ": contains a control character"},
                          Case{"1&total_amount=0.01", field + ": must not contain '&' or '='"}}) {
      FormFields fields = Good();
      fields[field] = c.value;
      const NotificationParse parsed = ParseNotification(fields);
      EXPECT_FALSE(parsed.notification) << field;
      ASSERT_EQ(parsed.errors.size(), 1u) << field;
      EXPECT_EQ(parsed.errors[0], c.error);
    }
  }
  EXPECT_TRUE(ParseNotification(Good()).notification);
}

// An echoed value is escaped (a backslash too, so a value cannot pose as an escape) and
// bounded.
TEST(ParseNotification, EchoedValuesAreEscaped) {
  FormFields fields = Good();
  fields["out_trade_no"] = "12ab\\x0A";
  NotificationParse parsed = ParseNotification(fields);
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0], "out_trade_no: expected our payNo (decimal digits), got '12ab\\\\x0A'");
}

}  // namespace
}  // namespace paynotify::order

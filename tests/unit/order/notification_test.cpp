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

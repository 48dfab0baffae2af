#include "order-service/intake/new_order.hpp"

#include <gtest/gtest.h>

namespace paynotify::order {
namespace {

TEST(ParseNewOrder, AcceptsAValidOrder) {
  const NewOrderParse parsed = ParseNewOrder(R"({"userId":"u1","outBusinessId":"cs-1",
      "orderType":"60201","orderName":"Course A","orderDescrip":"d","totalPrice":"12.30",
      "orderDetail":[{"goodsId":"1","goodsType":"60201","goodsName":"A","goodsPrice":12.3}]})");
  ASSERT_TRUE(parsed.order) << parsed.errors.at(0);
  EXPECT_EQ(parsed.order->total_cents, 1230);
  EXPECT_EQ(parsed.order->order_type, "60201");
  EXPECT_EQ(parsed.order->order_descrip, "d");
  EXPECT_EQ(parsed.order->order_detail.front(), '[');
}

TEST(ParseNewOrder, NumbersAreExact) {
  const NewOrderParse parsed = ParseNewOrder(R"({"userId":7,"outBusinessId":42,"orderType":60202,
      "orderName":"n","totalPrice":0.1,"orderDetail":[]})");
  ASSERT_TRUE(parsed.order) << parsed.errors.at(0);
  EXPECT_EQ(parsed.order->total_cents, 10);
  EXPECT_EQ(parsed.order->out_business_id, "42");
  EXPECT_EQ(parsed.order->order_type, "60202");
  EXPECT_EQ(ParseNewOrder(R"({"userId":"u","outBusinessId":"b","orderType":"60201","orderName":"n",
      "totalPrice":19.99,"orderDetail":[]})").order->total_cents, 1999);
}

TEST(ParseNewOrder, NamesEveryBadField) {
  const NewOrderParse parsed = ParseNewOrder(R"({"userId":"","orderType":"1","orderName":5,
      "totalPrice":"1.234","orderDetail":{}})");
  EXPECT_FALSE(parsed.order);
  const std::vector<std::string> expected{
      "userId: must not be empty",
      "outBusinessId: missing",
      "orderType: expected 60201 (course) or 60202 (material), got '1'",
      "orderName: expected a string, got number",
      "totalPrice: expected at most 2 fraction digits (whole cents), got '1.234'",
      "orderDetail: expected a JSON array of goods, got object"};
  EXPECT_EQ(parsed.errors, expected);
}

TEST(ParseNewOrder, RejectsZeroAndNegativeAndNonJson) {
  auto errors_for = [](const std::string& price) {
    return ParseNewOrder(R"({"userId":"u","outBusinessId":"b","orderType":"60201","orderName":"n",
        "orderDetail":[],"totalPrice":)" + price + "}").errors;
  };
  EXPECT_EQ(errors_for("0").at(0), "totalPrice: must be greater than 0");
  EXPECT_EQ(errors_for("-1").at(0).rfind("totalPrice: ", 0), 0u);
  EXPECT_EQ(ParseNewOrder("nope").errors.at(0), "body: not valid JSON");
  EXPECT_EQ(ParseNewOrder("[1]").errors.at(0), "body: expected a JSON object, got array");
}

}  // namespace
}  // namespace paynotify::order

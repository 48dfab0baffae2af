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
  // The syntax error now says where (issue 10: a clear error); the prefix is the contract.
  EXPECT_EQ(ParseNewOrder("nope").errors.at(0).rfind("body: not valid JSON: ", 0), 0u);
  EXPECT_EQ(ParseNewOrder("[1]").errors.at(0), "body: expected a JSON object, got array");
}

}  // namespace
}  // namespace paynotify::order

namespace paynotify::order {
namespace {

std::string OrderWithDetail(const std::string& detail) {
  return R"({"userId":"u","outBusinessId":"b","orderType":"60201","orderName":"n",
      "totalPrice":"1.00","orderDetail":)" + detail + "}";
}

// Issue 10 §1 "Remote crash": depth is capped while parsing (the body object is level 1),
// before anything could recurse on it.
TEST(ParseNewOrder, NestingIsCappedAt32Levels) {
  const int inner = kMaxJsonDepth - 1;  // orderDetail's arrays below the body object
  const NewOrderParse at_limit =
      ParseNewOrder(OrderWithDetail(std::string(inner, '[') + std::string(inner, ']')));
  EXPECT_TRUE(at_limit.order) << at_limit.errors.at(0);

  const NewOrderParse over =
      ParseNewOrder(OrderWithDetail(std::string(inner + 1, '[') + std::string(inner + 1, ']')));
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(over.errors[0].rfind("orderDetail[0]", 0), 0u) << over.errors[0];
  EXPECT_NE(over.errors[0].find("nested deeper than 32 levels"), std::string::npos) << over.errors[0];

  // Objects count as much as arrays; an unterminated deep prefix is refused the same way.
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"a":)";
  EXPECT_NE(ParseNewOrder(OrderWithDetail("[" + objects)).errors.at(0).find("deeper than 32"),
            std::string::npos);
}

// Issue 10 §1 "JSON ambiguities": a duplicated key, at any level, is refused by name.
TEST(ParseNewOrder, DuplicateKeysAreRefusedAtEveryLevel) {
  EXPECT_EQ(ParseNewOrder(R"({"userId":"u","userId":"v"})").errors,
            std::vector<std::string>{"userId: appears more than once"});
  EXPECT_EQ(ParseNewOrder(OrderWithDetail(R"([{"goodsId":"1"},{"goodsId":"2","goodsId":"3"}])")).errors,
            std::vector<std::string>{"orderDetail[1].goodsId: appears more than once"});
  // The same key in two different objects is fine.
  EXPECT_TRUE(ParseNewOrder(OrderWithDetail(R"([{"goodsId":"1"},{"goodsId":"2"}])")).order);
  // Keys are compared after unescaping: "total\u0050rice" is "totalPrice".
  EXPECT_EQ(ParseNewOrder(R"({"totalPrice":"1","total\u0050rice":"2"})").errors,
            std::vector<std::string>{"totalPrice: appears more than once"});
}

// Issue 10 §1 "JSON ambiguities": a NUL would be cut by the database driver, so the stored
// text would differ from the checked one.
TEST(ParseNewOrder, NulCharactersAreRefusedInEveryString) {
  auto errors = ParseNewOrder(R"({"userId":"u","outBusinessId":"cs-1\u0000x","orderType":"60201",
      "orderName":"n","totalPrice":"1.00","orderDetail":[]})").errors;
  EXPECT_EQ(errors, std::vector<std::string>{"outBusinessId: contains a NUL character (\\u0000)"});
  errors = ParseNewOrder(OrderWithDetail(R"([{"goodsName":"a\u0000"}])")).errors;
  EXPECT_EQ(errors, std::vector<std::string>{"orderDetail[0].goodsName: contains a NUL character (\\u0000)"});
  errors = ParseNewOrder(OrderWithDetail(R"([{"a\u0000b":1}])")).errors;
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("NUL"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[0].find('\0'), std::string::npos);
}

TEST(ParseNewOrder, SyntaxErrorsSayWhereAndStayPrintable) {
  const auto errors = ParseNewOrder("{\"userId\":\"u\"\n\x01\xFF}").errors;
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("body: not valid JSON", 0), 0u) << errors[0];
  for (unsigned char c : errors[0]) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << errors[0];
  // Invalid UTF-8 inside a string is a syntax error too (never stored, never echoed raw).
  EXPECT_EQ(ParseNewOrder("{\"userId\":\"\xC3\x28\"}").errors.at(0).rfind("body: not valid JSON", 0), 0u);
}

// One meaning for identifiers: " cs-1" and "cs-1" must not be two orders, and a control
// character has no business in an id or a name.
TEST(ParseNewOrder, IdentifiersHaveNoControlCharactersOrSurroundingSpace) {
  auto errors = ParseNewOrder(R"({"userId":"u\n1","outBusinessId":" cs-1","orderType":"60201",
      "orderName":"a\u001bb","totalPrice":"1.00","orderDetail":[]})").errors;
  EXPECT_EQ(errors, (std::vector<std::string>{"userId: contains a control character",
                                              "outBusinessId: has leading or trailing whitespace",
                                              "orderName: contains a control character"}));
  // A description may have line breaks.
  EXPECT_TRUE(ParseNewOrder(R"({"userId":"u","outBusinessId":"b","orderType":"60201","orderName":"n",
      "orderDescrip":"line 1\nline 2","totalPrice":"1.00","orderDetail":[]})").order);
}

TEST(ParseNewOrder, ErrorsEchoAtMostABoundedEscapedValue) {
  const auto errors = ParseNewOrder(OrderWithDetail("[]").replace(
      OrderWithDetail("[]").find("\"1.00\""), 6, "\"" + std::string(100000, '9') + "\\n\"")).errors;
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("totalPrice: ", 0), 0u);
  EXPECT_LT(errors[0].size(), 600u);
  EXPECT_EQ(errors[0].find('\n'), std::string::npos);
}

}  // namespace
}  // namespace paynotify::order

#pragma once
/// POST /orders request body: an order (and its pay record) for one course selection.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paynotify::order {

/// Order types of the Java platform (xc_orders.order_type).
inline constexpr std::string_view kOrderTypeCourse = "60201";
inline constexpr std::string_view kOrderTypeMaterial = "60202";

/// Deepest nesting accepted in a request body; the body object itself is level 1.
inline constexpr int kMaxJsonDepth = 32;

struct NewOrder {
  std::string user_id;           ///< userId, 1..32 chars
  std::string out_business_id;   ///< outBusinessId (course-selection id), 1..64 chars; string or integer
  std::string order_type;        ///< orderType: "60201" | "60202" (string or number)
  std::string order_name;        ///< orderName, 1..255 chars
  std::optional<std::string> order_descrip;  ///< orderDescrip, <= 255 chars
  int64_t total_cents = 0;       ///< totalPrice > 0, at most 2 decimals (string or number)
  std::string order_detail;      ///< orderDetail: a JSON array, stored as its compact text (<= 1000)
};

/// `order` is set exactly when `errors` is empty; every error names its field
/// ("totalPrice: expected at most 2 fraction digits, got '1.234'").
struct NewOrderParse {
  std::optional<NewOrder> order;
  std::vector<std::string> errors;
};

/// Parses and validates the JSON body. A JSON number for totalPrice is taken by its
/// shortest round-trip decimal form (12.3 -> "12.3"), so no binary rounding reaches the
/// amount. Unknown fields are ignored. The body has one meaning or is refused, before any
/// step recurses on it: nesting deeper than kMaxJsonDepth, a key twice in one object (at any
/// level) and a NUL in any string are each one error naming the field's path
/// ("orderDetail[1].goodsId: appears more than once"). userId, outBusinessId and orderType
/// have no control characters and no surrounding spaces; orderName no control characters;
/// orderDescrip none but line breaks and tabs. Echoed values are escaped and bounded.
/// Pure; linear in the body; never throws for bad input.
NewOrderParse ParseNewOrder(std::string_view body);

}  // namespace paynotify::order

#include "order-service/intake/new_order.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "order-service/intake/amount.hpp"

namespace paynotify::order {

namespace {
using nlohmann::json;

// A string field, or (when allow_integer) an integer written as its digits.
std::optional<std::string> StringField(const json& body, const char* name, size_t max_length,
                                       bool required, bool allow_integer,
                                       std::vector<std::string>& errors) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) errors.push_back(fmt::format("{}: missing", name));
    return std::nullopt;
  }
  std::string value;
  if (it->is_string()) {
    value = it->get<std::string>();
  } else if (allow_integer && (it->is_number_integer() || it->is_number_unsigned())) {
    value = it->dump();
  } else {
    errors.push_back(fmt::format("{}: expected a string{}, got {}", name,
                                 allow_integer ? " or an integer" : "", it->type_name()));
    return std::nullopt;
  }
  if (required && value.empty()) {
    errors.push_back(fmt::format("{}: must not be empty", name));
    return std::nullopt;
  }
  if (value.size() > max_length) {
    errors.push_back(fmt::format("{}: longer than {} characters", name, max_length));
    return std::nullopt;
  }
  return value;
}
}  // namespace

NewOrderParse ParseNewOrder(std::string_view text) {
  NewOrderParse result;
  auto& errors = result.errors;
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    errors.push_back("body: not valid JSON");
    return result;
  }
  if (!body.is_object()) {
    errors.push_back(fmt::format("body: expected a JSON object, got {}", body.type_name()));
    return result;
  }
  NewOrder order;
  if (auto v = StringField(body, "userId", 32, true, true, errors)) order.user_id = *v;
  if (auto v = StringField(body, "outBusinessId", 64, true, true, errors)) order.out_business_id = *v;
  if (auto v = StringField(body, "orderType", 30, true, true, errors)) {
    if (*v == kOrderTypeCourse || *v == kOrderTypeMaterial) {
      order.order_type = *v;
    } else {
      errors.push_back(fmt::format("orderType: expected 60201 (course) or 60202 (material), got '{}'", *v));
    }
  }
  if (auto v = StringField(body, "orderName", 255, true, false, errors)) order.order_name = *v;
  order.order_descrip = StringField(body, "orderDescrip", 255, false, false, errors);

  const auto price = body.find("totalPrice");
  if (price == body.end() || price->is_null()) {
    errors.push_back("totalPrice: missing");
  } else {
    std::optional<std::string> text_price;
    if (price->is_string()) {
      text_price = price->get<std::string>();
    } else if (price->is_number_integer() || price->is_number_unsigned()) {
      text_price = price->dump();
    } else if (price->is_number_float()) {
      // fmt's "{}" is the shortest text that reads back as the same double: for any
      // decimal with up to 15 significant digits that is the decimal the client wrote.
      text_price = fmt::format("{}", price->get<double>());
    } else {
      errors.push_back(fmt::format("totalPrice: expected a decimal string or number, got {}",
                                   price->type_name()));
    }
    if (text_price) {
      const AmountParse amount = ParseAmount(*text_price);
      if (!amount.cents) {
        errors.push_back("totalPrice: " + amount.error);
      } else if (*amount.cents <= 0) {
        errors.push_back("totalPrice: must be greater than 0");
      } else {
        order.total_cents = *amount.cents;
      }
    }
  }

  const auto detail = body.find("orderDetail");
  if (detail == body.end() || detail->is_null()) {
    errors.push_back("orderDetail: missing (a JSON array of goods)");
  } else if (!detail->is_array()) {
    errors.push_back(fmt::format("orderDetail: expected a JSON array of goods, got {}", detail->type_name()));
  } else {
    order.order_detail = detail->dump();
    if (order.order_detail.size() > 1000) {
      errors.push_back("orderDetail: longer than 1000 characters as JSON");
    }
  }

  if (errors.empty()) result.order = std::move(order);
  return result;
}

}  // namespace paynotify::order

// Fuzz target: the POST /orders body validator (order-service/intake/new_order.*). The body
// is the fuzz input.
//
// Properties, beyond "no crash, no sanitizer report" (deep nesting included: issue 10's
// remote crash was a recursion over orderDetail's depth):
//  - exactly one of order / errors; every error printable and bounded;
//  - an accepted order respects every documented limit, and orderDetail is the compact text
//    of a JSON array;
//  - the JSON accepted has one meaning (issue 10 section 2): every accepted string is
//    storable (valid UTF-8, no NUL: a "\u0000" in outBusinessId was cut by the database
//    driver) and an accepted body has no duplicate key at any level (a second totalPrice
//    used to win silently).
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "order-service/intake/amount.hpp"
#include "order-service/intake/new_order.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace paynotify::order;
using nlohmann::json;

// SAX pass (nlohmann's SAX parser keeps its own stack, so depth costs no recursion here)
// that notices a key repeated within one object.
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  bool duplicate = false;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& name) override {
    if (!keys_.back().insert(name).second) duplicate = true;
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  std::vector<std::set<std::string>> keys_;
};

bool HasDuplicateKey(std::string_view body) {
  DuplicateKeyFinder finder;
  const bool parsed = json::sax_parse(body, &finder, json::input_format_t::json, false);
  return parsed && finder.duplicate;
}

void CheckStorable(const std::string& text, size_t min_size, size_t max_size) {
  FUZZ_CHECK(text.size() >= min_size && text.size() <= max_size, "accepted field length in range");
  FUZZ_CHECK_IN("storable", paynotify::fuzz::IsStorableText(text),
                "accepted strings are storable (valid UTF-8, no NUL): else the database driver "
                "cuts or refuses them after validation");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const NewOrderParse parsed = ParseNewOrder(body);
  FUZZ_CHECK(parsed.order.has_value() == parsed.errors.empty(),
             "ParseNewOrder sets exactly one of order and errors");
  for (const auto& error : parsed.errors) FUZZ_CHECK_ERROR_TEXT(error);
  if (!parsed.order) return 0;

  const NewOrder& order = *parsed.order;
  CheckStorable(order.user_id, 1, 32);
  CheckStorable(order.out_business_id, 1, 64);
  FUZZ_CHECK(order.order_type == kOrderTypeCourse || order.order_type == kOrderTypeMaterial,
             "orderType is one of the two order types");
  CheckStorable(order.order_name, 1, 255);
  if (order.order_descrip) CheckStorable(*order.order_descrip, 0, 255);
  FUZZ_CHECK(order.total_cents > 0 && order.total_cents <= kMaxAmountCents,
             "totalPrice within (0, 99999999.99]");
  CheckStorable(order.order_detail, 2, 1000);
  const json detail = json::parse(order.order_detail, nullptr, false);
  FUZZ_CHECK(detail.is_array() && detail.dump() == order.order_detail,
             "orderDetail is the compact text of a JSON array");
  FUZZ_CHECK_IN("duplicate-key", !HasDuplicateKey(body),
                "a body with a duplicated key is refused (one meaning)");
  return 0;
}

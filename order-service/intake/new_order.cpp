#include "order-service/intake/new_order.hpp"

#include <set>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/text/escape.hpp"
#include "order-service/intake/amount.hpp"

namespace paynotify::order {

namespace {
using nlohmann::json;

// The first pass over the body, as SAX events: nlohmann's parser is iterative (it keeps its
// own stack of open containers), so nothing recurses while this pass runs; it stops at the
// first problem. It refuses what would give the body a second meaning or make a later step
// unsafe: nesting deeper than kMaxJsonDepth (the DOM and dump() recurse per level; 150,000
// levels crashed the daemon), a key twice in one object (nlohmann keeps the last one), and
// a NUL in any string or key (libpq would cut the text there). Errors name the field by its
// path ("orderDetail[1].goodsId").
class BodyGuard final : public json::json_sax_t {
 public:
  std::optional<std::string> error;

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool string(string_t& value) override {
    Value();
    if (value.find('\0') != std::string::npos) return Fail("contains a NUL character (\\u0000)");
    return true;
  }
  bool start_object(std::size_t) override { return Open(true); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& name) override {
    Frame& frame = frames_.back();
    frame.key = name;
    if (name.find('\0') != std::string::npos) return Fail("a field name contains a NUL character (\\u0000)");
    if (!frame.keys.insert(name).second) return Fail("appears more than once");
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
    std::string_view what = e.what();
    if (const size_t close = what.find("] "); close != std::string_view::npos) what.remove_prefix(close + 2);
    error = "body: not valid JSON: " + text::Printable(what, 200);
    return false;
  }

 private:
  struct Frame {
    bool object = false;
    std::set<std::string, std::less<>> keys;  // objects: the keys seen so far
    std::string key;                          // objects: the current key
    size_t index = 0;                         // arrays: the current element
    size_t next_index = 0;
  };

  // Every value (scalar or container) advances its array's index.
  bool Value() {
    if (!frames_.empty() && !frames_.back().object) frames_.back().index = frames_.back().next_index++;
    return true;
  }
  bool Open(bool object) {
    Value();
    if (frames_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
      return Fail(fmt::format("nested deeper than {} levels", kMaxJsonDepth));
    }
    frames_.push_back(Frame{object, {}, {}, 0, 0});
    return true;
  }
  bool Close() {
    frames_.pop_back();
    return true;
  }
  bool Fail(std::string_view what) {
    error = fmt::format("{}: {}", Path(), what);
    return false;
  }
  // "orderDetail[1].goodsId"; names escaped, the whole bounded.
  std::string Path() const {
    std::string path;
    for (const Frame& frame : frames_) {
      if (frame.object) {
        if (!path.empty()) path += '.';
        path += text::Printable(frame.key, 64);
      } else {
        path += fmt::format("[{}]", frame.index);
      }
    }
    return path.empty() ? "body" : text::CutToBytes(std::move(path), 200);
  }

  std::vector<Frame> frames_;
};

enum class TextKind {
  kIdentifier,   // no control characters, no leading or trailing whitespace
  kName,         // no control characters
  kDescription,  // line breaks and tabs allowed, other control characters not
};

// Why `value` (valid UTF-8: the parser checked it) is not acceptable as `kind`, or empty.
std::string_view TextProblem(std::string_view value, TextKind kind) {
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    const bool c1 = c == 0xC2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) {
      if (kind == TextKind::kDescription && (c == '\n' || c == '\r' || c == '\t')) continue;
      return "contains a control character";
    }
  }
  if (kind == TextKind::kIdentifier && !value.empty() &&
      (value.front() == ' ' || value.back() == ' ')) {
    return "has leading or trailing whitespace";
  }
  return {};
}

// A string field, or (when allow_integer) an integer written as its digits.
std::optional<std::string> StringField(const json& body, const char* name, size_t max_length,
                                       bool required, bool allow_integer, TextKind kind,
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
  if (const std::string_view problem = TextProblem(value, kind); !problem.empty()) {
    errors.push_back(fmt::format("{}: {}", name, problem));
    return std::nullopt;
  }
  return value;
}
}  // namespace

NewOrderParse ParseNewOrder(std::string_view text) {
  NewOrderParse result;
  auto& errors = result.errors;
  BodyGuard guard;
  if (!json::sax_parse(text.begin(), text.end(), &guard)) {
    errors.push_back(guard.error.value_or("body: not valid JSON"));
    return result;
  }
  // The guard passed: depth <= kMaxJsonDepth, so building the DOM (and, below, dump())
  // recurses at most that deep.
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
  if (auto v = StringField(body, "userId", 32, true, true, TextKind::kIdentifier, errors)) {
    order.user_id = *v;
  }
  if (auto v = StringField(body, "outBusinessId", 64, true, true, TextKind::kIdentifier, errors)) {
    order.out_business_id = *v;
  }
  if (auto v = StringField(body, "orderType", 30, true, true, TextKind::kIdentifier, errors)) {
    if (*v == kOrderTypeCourse || *v == kOrderTypeMaterial) {
      order.order_type = *v;
    } else {
      errors.push_back(fmt::format("orderType: expected 60201 (course) or 60202 (material), got '{}'",
                                   text::Printable(*v, 64)));
    }
  }
  if (auto v = StringField(body, "orderName", 255, true, false, TextKind::kName, errors)) {
    order.order_name = *v;
  }
  order.order_descrip =
      StringField(body, "orderDescrip", 255, false, false, TextKind::kDescription, errors);

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
    order.order_detail = detail->dump(-1, ' ', false, json::error_handler_t::replace);
    if (order.order_detail.size() > 1000) {
      errors.push_back("orderDetail: longer than 1000 characters as JSON");
    }
  }

  if (errors.empty()) result.order = std::move(order);
  return result;
}

}  // namespace paynotify::order

// Fuzz target: the payment notification as it arrives on the public listener: the form
// parser (order-service/intake/form.*), the notification reader (notification.*) and the
// signature canonicaliser (SignContent in signature.*). The body is the fuzz input.
//
// Properties, beyond "no crash, no sanitizer report":
//  - UrlDecode(UrlEncode(x)) == x for any bytes;
//  - a form parsed without errors re-encodes and re-parses to the same fields;
//  - SignContent is the documented canonical text (sorted, without sign / sign_type / empty
//    values, "k=v" joined by '&');
//  - ParseNotification sets exactly one of notification / errors, and what it accepts is in
//    range and storable in PostgreSQL (valid UTF-8, no NUL: issue 10, "a correctly signed
//    notification whose trade_no is not UTF-8" answered 500);
//  - every error text is printable and bounded (it is logged and echoed to the platform).
#include <cstdint>
#include <string>
#include <string_view>

#include "order-service/intake/amount.hpp"
#include "order-service/intake/form.hpp"
#include "order-service/intake/notification.hpp"
#include "order-service/intake/signature.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace paynotify::order;

std::string ExpectedSignContent(const FormFields& fields) {
  std::string content;
  for (const auto& [name, value] : fields) {
    if (name == "sign" || name == "sign_type" || value.empty()) continue;
    content += content.empty() ? "" : "&";
    content += name + "=" + value;
  }
  return content;
}

void CheckNotification(const FormFields& fields) {
  const NotificationParse parsed = ParseNotification(fields);
  FUZZ_CHECK(parsed.notification.has_value() == parsed.errors.empty(),
             "ParseNotification sets exactly one of notification and errors");
  for (const auto& error : parsed.errors) FUZZ_CHECK_ERROR_TEXT(error);
  if (!parsed.notification) return;
  const PayNotification& n = *parsed.notification;
  FUZZ_CHECK(n.pay_no >= 0 && n.pay_no <= 999'999'999'999'999'999, "pay_no has at most 18 digits");
  FUZZ_CHECK(n.pay_no == ParsePayNo(fields.at("out_trade_no")), "pay_no is out_trade_no");
  FUZZ_CHECK(n.total_amount_cents >= 0 && n.total_amount_cents <= kMaxAmountCents,
             "total_amount within numeric(10,2)");
  FUZZ_CHECK(ParseAmount(fields.at("total_amount")).cents == n.total_amount_cents,
             "total_amount_cents is total_amount");
  for (const std::string* text : {&n.trade_no, &n.trade_status, &n.app_id}) {
    FUZZ_CHECK(!text->empty() && text->size() <= 64, "accepted text fields are 1..64 bytes");
    FUZZ_CHECK_IN("storable", paynotify::fuzz::IsStorableText(*text),
                  "accepted text fields are storable (valid UTF-8, no NUL): else the store "
                  "fails with a 5xx and the platform retries for 25 hours");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  std::string decoded;
  FUZZ_CHECK(UrlDecode(UrlEncode(body), decoded) && decoded == body,
             "UrlDecode(UrlEncode(x)) == x");

  const FormParse form = ParseForm(body);
  for (const auto& error : form.errors) FUZZ_CHECK_ERROR_TEXT(error);
  for (const auto& [name, value] : form.fields) FUZZ_CHECK(!name.empty(), "no field has an empty name");
  if (form.errors.empty()) {
    std::string again;
    for (const auto& [name, value] : form.fields) {
      again += again.empty() ? "" : "&";
      again += UrlEncode(name) + "=" + UrlEncode(value);
    }
    const FormParse reparsed = ParseForm(again);
    FUZZ_CHECK(reparsed.errors.empty() && reparsed.fields == form.fields,
               "a clean form re-encodes and re-parses to the same fields");
  }

  FUZZ_CHECK(SignContent(form.fields) == ExpectedSignContent(form.fields),
             "SignContent is the documented canonical text");

  // The handler reads the notification only from a form without errors; the reader itself
  // must still cope with whatever fields it is given.
  CheckNotification(form.fields);
  return 0;
}

#pragma once
/// application/x-www-form-urlencoded bodies, as the payment platform sends its notification.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace paynotify::order {

/// Decoded form fields by name (sorted, which is also the order the signature uses).
using FormFields = std::map<std::string, std::string>;

/// Budgets for one form body (issue 10: untrusted bytes have budgets). A payment
/// notification has about 30 fields; the longest (fund_bill_list, passback_params,
/// voucher_detail_list) stay well under 16 KiB.
inline constexpr size_t kMaxFormFields = 100;
inline constexpr size_t kMaxFormNameBytes = 64;
inline constexpr size_t kMaxFormValueBytes = 16384;
/// Errors listed per body; further ones end the parse with "form: further problems not listed".
inline constexpr size_t kMaxFormErrors = 8;

/// Result of parsing a form body: `fields` holds every well-formed field; `errors` names
/// each problem ("form: field 'sign' appears twice", "form: bad percent-escape in field
/// 'subject'"). A body with errors must be rejected as a whole: a duplicated field makes
/// the signed content ambiguous.
struct FormParse {
  FormFields fields;
  std::vector<std::string> errors;
};

/// Splits on '&', then on the first '='; decodes '+' as space and %XX escapes in names and
/// values. Empty pairs ("a=1&&b=2") are skipped; a pair without '=' is a field with an empty
/// value. A decoded name must be 1..kMaxFormNameBytes of [A-Za-z0-9_] (every platform field
/// is; anything else, '&' and '=' above all, would give the signed "k=v&k=v" content a
/// second reading), a value at most kMaxFormValueBytes, and there may be at most
/// kMaxFormFields fields. Errors quote names escaped and bounded (text::Printable), never
/// values. Pure; linear in the body.
FormParse ParseForm(std::string_view body);

/// Percent-decodes `text` ('+' -> space). Returns false on a malformed escape.
bool UrlDecode(std::string_view text, std::string& out);

/// Percent-encodes everything but unreserved characters (RFC 3986), for building forms in
/// tests and clients.
std::string UrlEncode(std::string_view text);

}  // namespace paynotify::order

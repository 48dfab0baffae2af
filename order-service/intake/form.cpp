#include "order-service/intake/form.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/text/escape.hpp"

namespace paynotify::order {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
}  // namespace

bool UrlDecode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return false;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

FormParse ParseForm(std::string_view body) {
  FormParse result;
  size_t fields = 0;
  // One error more than the budget ends the parse: a body of 10,000 bad pairs is one short
  // reply and one short log line, not 10,000.
  auto fail = [&](std::string error) {
    if (result.errors.size() == kMaxFormErrors) {
      result.errors.push_back("form: further problems not listed");
      return false;
    }
    result.errors.push_back(std::move(error));
    return true;
  };
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    if (++fields > kMaxFormFields) {
      fail(fmt::format("form: more than {} fields", kMaxFormFields));
      break;
    }
    const size_t eq = pair.find('=');
    const std::string_view raw_name = pair.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::string name;
    std::string value;
    if (!UrlDecode(raw_name, name)) {
      if (!fail(fmt::format("form: bad percent-escape in field name '{}'", text::Printable(raw_name, 64)))) break;
      continue;
    }
    if (name.empty()) {
      if (!fail("form: a field has an empty name")) break;
      continue;
    }
    if (name.size() > kMaxFormNameBytes) {
      if (!fail(fmt::format("form: a field name is longer than {} bytes", kMaxFormNameBytes))) break;
      continue;
    }
    if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
      if (!fail(fmt::format("form: field name '{}' may have only letters, digits and '_'",
                            text::Printable(name, 64)))) {
        break;
      }
      continue;
    }
    if (!UrlDecode(raw_value, value)) {
      if (!fail(fmt::format("form: bad percent-escape in field '{}'", name))) break;
      continue;
    }
    if (value.size() > kMaxFormValueBytes) {
      if (!fail(fmt::format("form: field '{}' is longer than {} bytes", name, kMaxFormValueBytes))) break;
      continue;
    }
    auto [it, inserted] = result.fields.emplace(std::move(name), std::move(value));
    if (!inserted) {
      if (!fail(fmt::format("form: field '{}' appears more than once", it->first))) break;
    }
  }
  return result;
}

}  // namespace paynotify::order

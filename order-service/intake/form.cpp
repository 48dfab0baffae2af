#include "order-service/intake/form.hpp"

#include <fmt/format.h>

namespace paynotify::order {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view raw_name = pair.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::string name;
    std::string value;
    if (!UrlDecode(raw_name, name)) {
      result.errors.push_back(fmt::format("form: bad percent-escape in field name '{}'", raw_name));
      continue;
    }
    if (name.empty()) {
      result.errors.push_back("form: a field has an empty name");
      continue;
    }
    if (!UrlDecode(raw_value, value)) {
      result.errors.push_back(fmt::format("form: bad percent-escape in field '{}'", name));
      continue;
    }
    auto [it, inserted] = result.fields.emplace(name, std::move(value));
    if (!inserted) {
      result.errors.push_back(fmt::format("form: field '{}' appears more than once", name));
    }
  }
  return result;
}

}  // namespace paynotify::order

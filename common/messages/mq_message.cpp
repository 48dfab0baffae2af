#include "common/messages/mq_message.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/text/utf8.hpp"

namespace paynotify::messages {

namespace {

using nlohmann::json;

constexpr std::string_view kId = "id";
constexpr std::string_view kMessageType = "messageType";
constexpr std::string_view kBusinessKeys[] = {"businessKey1", "businessKey2", "businessKey3"};

// --- locating top-level members in the (already valid) JSON text -------------------------
// nlohmann does not report where a value came from, so to name the field an invalid UTF-8
// byte sits in we scan the document ourselves. The scanner only ever runs on text nlohmann
// has just accepted, so it can be simple; it still never reads out of bounds.

struct MemberSpan {
  std::string key;
  size_t begin = 0;  // offset of the key's opening quote
  size_t end = 0;    // one past the value's last byte
};

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && IsJsonSpace(t[i])) ++i;
  return i;
}

// t[i] is '"'; returns the offset one past the closing quote.
size_t SkipString(std::string_view t, size_t i) {
  ++i;
  while (i < t.size() && t[i] != '"') i += (t[i] == '\\') ? 2 : 1;
  return std::min(i + 1, t.size());
}

size_t SkipValue(std::string_view t, size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return SkipString(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = SkipString(t, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++i;
      if (depth == 0) break;
    }
    return i;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !IsJsonSpace(t[i])) ++i;
  return i;
}

std::vector<MemberSpan> TopLevelMembers(std::string_view t) {
  std::vector<MemberSpan> members;
  size_t i = 0;
  if (t.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // nlohmann skips a UTF-8 byte order mark too
  i = SkipSpace(t, i);
  if (i >= t.size() || t[i] != '{') return members;
  i = SkipSpace(t, i + 1);
  while (i < t.size() && t[i] == '"') {
    MemberSpan member;
    member.begin = i;
    const size_t key_end = SkipString(t, i);
    try {
      member.key = json::parse(t.substr(i, key_end - i)).get<std::string>();
    } catch (const json::exception&) {
      member.key = std::string(t.substr(i + 1, key_end - i - 2));
    }
    i = SkipSpace(t, key_end);
    if (i < t.size() && t[i] == ':') ++i;
    i = SkipValue(t, SkipSpace(t, i));
    member.end = i;
    members.push_back(std::move(member));
    i = SkipSpace(t, i);
    if (i < t.size() && t[i] == ',') ++i;
    i = SkipSpace(t, i);
  }
  return members;
}

// --- describing what we got, for error messages -------------------------------------------

std::string Truncated(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  // Do not cut a multi-byte character in half: the error text must stay valid UTF-8.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

std::string Describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string " + Truncated(value.dump(), 40);
    default:
      return Truncated(value.dump(), 40);  // numbers and booleans read as themselves
  }
}

// "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..." ->
// "syntax error ...": the byte offset is reported separately, the rest is noise.
std::string ParseErrorDetail(const json::parse_error& error) {
  std::string_view what = error.what();
  if (const size_t column = what.find("column "); column != std::string_view::npos) {
    if (const size_t colon = what.find(": ", column); colon != std::string_view::npos) {
      return std::string(what.substr(colon + 2));
    }
  }
  if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
    return std::string(what.substr(bracket + 2));
  }
  return std::string(what);
}

std::string Field(std::string_view name, std::string_view problem) {
  std::string text(name);
  text += ": ";
  text += problem;
  return text;
}

enum class IntText { kOk, kNotAnInteger, kOutOfRange };

// "-?[0-9]+" within int64 range; nothing else (no spaces, no '+', no exponent).
IntText ParseDecimalInt64(std::string_view text, int64_t& value) {
  const size_t digits_from = (!text.empty() && text.front() == '-') ? 1 : 0;
  if (digits_from == text.size()) return IntText::kNotAnInteger;
  for (size_t i = digits_from; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return IntText::kNotAnInteger;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return IntText::kOutOfRange;
  if (ec != std::errc() || end != text.data() + text.size()) return IntText::kNotAnInteger;
  return IntText::kOk;
}

void DecodeId(const json& object, MqMessage& out, std::vector<std::string>& errors) {
  const auto it = object.find(kId);
  if (it == object.end()) {
    errors.push_back(Field(kId, "missing"));
    return;
  }
  const json& value = *it;
  constexpr std::string_view kExpected = "expected an integer or a string of digits, got ";
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      errors.push_back(Field(kId, "out of range for a 64-bit integer: " + value.dump()));
      return;
    }
    out.id = value.get<int64_t>();
    return;
  }
  if (value.is_string()) {
    switch (ParseDecimalInt64(value.get_ref<const std::string&>(), out.id)) {
      case IntText::kOk:
        return;
      case IntText::kOutOfRange:
        errors.push_back(Field(kId, "out of range for a 64-bit integer: " + Describe(value)));
        return;
      case IntText::kNotAnInteger:
        break;
    }
  }
  errors.push_back(Field(kId, std::string(kExpected) + Describe(value)));
}

void DecodeMessageType(const json& object, MqMessage& out, std::vector<std::string>& errors) {
  const auto it = object.find(kMessageType);
  if (it == object.end()) {
    errors.push_back(Field(kMessageType, "missing"));
    return;
  }
  if (!it->is_string()) {
    errors.push_back(Field(kMessageType, "expected a string, got " + Describe(*it)));
    return;
  }
  out.message_type = it->get<std::string>();
  if (out.message_type.empty()) errors.push_back(Field(kMessageType, "must not be empty"));
}

// Business keys are strings in Java, but hand-written producers send numbers (60201); we keep
// the decimal text so the consumer compares like with like.
void DecodeBusinessKey(const json& object, std::string_view name, std::optional<std::string>& out,
                       std::vector<std::string>& errors) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return;  // Java omits null fields
  const json& value = *it;
  if (value.is_string()) {
    out = value.get<std::string>();
  } else if (value.is_number_unsigned()) {
    out = std::to_string(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    out = std::to_string(value.get<int64_t>());
  } else if (value.is_number_float()) {
    const double number = value.get<double>();
    constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
    if (std::trunc(number) == number && std::fabs(number) < kExactIntegers) {
      out = std::to_string(static_cast<int64_t>(number));  // 60201.0 -> "60201"
    } else {
      out = value.dump();
    }
  } else {
    errors.push_back(Field(name, "expected a string or a number, got " + Describe(value)));
  }
}

}  // namespace

std::string EncodeMqMessage(const MqMessage& message) {
  const auto check = [](std::string_view field, const std::optional<std::string>& value) {
    if (value && !text::IsValidUtf8(*value)) {
      throw std::invalid_argument(Field(field, "not valid UTF-8"));
    }
  };
  check(kMessageType, message.message_type);
  for (int i = 0; i < 3; ++i) {
    const auto& key = i == 0 ? message.business_key1 : i == 1 ? message.business_key2 : message.business_key3;
    check(kBusinessKeys[i], key);
  }
  const auto key_or_null = [](const std::optional<std::string>& key) {
    return key ? nlohmann::ordered_json(*key) : nlohmann::ordered_json(nullptr);
  };
  // ordered_json keeps the Java field order, which makes bodies easy to eyeball in logs.
  nlohmann::ordered_json body;
  body["id"] = message.id;
  body["messageType"] = message.message_type;
  body["businessKey1"] = key_or_null(message.business_key1);
  body["businessKey2"] = key_or_null(message.business_key2);
  body["businessKey3"] = key_or_null(message.business_key3);
  return body.dump();
}

DecodeResult DecodeMqMessage(std::string_view body) {
  DecodeResult result;
  auto& errors = result.errors;

  // Invalid bytes are replaced (length-preserving) before parsing, so that nlohmann still
  // parses the document and we can report the field they sit in and every other problem.
  const std::vector<size_t> bad_bytes = text::InvalidUtf8Offsets(body);
  std::string text(body);
  for (size_t offset : bad_bytes) text[offset] = '?';

  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& error) {
    if (!bad_bytes.empty()) {
      errors.push_back("body: invalid UTF-8 at byte " + std::to_string(bad_bytes.front() + 1));
    }
    errors.push_back("body: invalid JSON at byte " + std::to_string(error.byte) + ": " +
                     ParseErrorDetail(error));
    return result;
  }
  if (!document.is_object()) {
    errors.push_back("body: expected a JSON object, got " + Describe(document));
    return result;
  }

  // One UTF-8 error per member (its first bad byte), naming the member it lies in.
  std::vector<std::string> bad_members;
  if (!bad_bytes.empty()) {
    const std::vector<MemberSpan> members = TopLevelMembers(text);
    bool reported_body = false;
    for (size_t offset : bad_bytes) {
      const MemberSpan* owner = nullptr;
      for (const auto& member : members) {
        if (offset >= member.begin && offset < member.end) owner = &member;
      }
      const std::string where = "invalid UTF-8 at byte " + std::to_string(offset + 1);
      if (owner == nullptr) {
        if (!reported_body) errors.push_back("body: " + where);
        reported_body = true;
      } else if (std::find(bad_members.begin(), bad_members.end(), owner->key) == bad_members.end()) {
        bad_members.push_back(owner->key);
        errors.push_back(Field(owner->key, where));
      }
    }
  }
  const auto is_bad = [&](std::string_view field) {
    return std::find(bad_members.begin(), bad_members.end(), field) != bad_members.end();
  };

  MqMessage message;
  if (!is_bad(kId)) DecodeId(document, message, errors);
  if (!is_bad(kMessageType)) DecodeMessageType(document, message, errors);
  std::optional<std::string>* keys[] = {&message.business_key1, &message.business_key2,
                                        &message.business_key3};
  for (int i = 0; i < 3; ++i) {
    if (!is_bad(kBusinessKeys[i])) DecodeBusinessKey(document, kBusinessKeys[i], *keys[i], errors);
  }
  if (errors.empty()) result.message = std::move(message);
  return result;
}

std::string DedupKey(const std::optional<std::string>& amqp_message_id, const MqMessage& message) {
  if (amqp_message_id && !amqp_message_id->empty()) return *amqp_message_id;
  return message.message_type + ":" + std::to_string(message.id);
}

}  // namespace paynotify::messages

#include "common/messages/mq_message.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"

namespace paynotify::messages {

namespace {

using nlohmann::json;

constexpr std::string_view kId = "id";
constexpr std::string_view kMessageType = "messageType";
constexpr std::string_view kBusinessKeys[] = {"businessKey1", "businessKey2", "businessKey3"};

// Budgets for what a hostile body can make us print: every error names at most this much of
// a member name or of the parser's token, and the list holds at most kMaxDecodeErrors
// entries plus one saying how many were left out.
constexpr size_t kMaxKeyInError = 64;
constexpr size_t kMaxTokenInError = 40;
constexpr size_t kMaxParseErrorDetail = 240;
constexpr std::string_view kNulInString = "contains a NUL character (\\u0000)";

// The members we read, by index (so "seen twice" and "has a bad byte" are flags, not searches).
enum FieldIndexValue : size_t {
  kIdField,
  kMessageTypeField,
  kBusinessKey1Field,
  kBusinessKey2Field,
  kBusinessKey3Field,
  kFieldCount
};
constexpr std::string_view kFields[kFieldCount] = {kId, kMessageType, kBusinessKeys[0], kBusinessKeys[1],
                                                   kBusinessKeys[2]};

std::optional<size_t> FieldIndex(std::string_view key) {
  for (size_t f = 0; f < kFieldCount; ++f) {
    if (kFields[f] == key) return f;
  }
  return std::nullopt;
}

// Collects at most kMaxDecodeErrors errors and counts the rest, so that no body, however
// many problems it has, makes a long error text.
class ErrorList {
 public:
  explicit ErrorList(std::vector<std::string>& out) : out_(out) {}

  void Add(std::string error) {
    if (out_.size() < kMaxDecodeErrors) {
      out_.push_back(std::move(error));
    } else {
      ++omitted_;
    }
  }
  bool Empty() const { return out_.empty(); }
  /// Appends the count of what was left out, if anything was.
  void Finish(size_t invalid_utf8_bytes) {
    if (omitted_ == 0) return;
    std::string note = "(" + std::to_string(omitted_) + " more problems not listed";
    if (invalid_utf8_bytes > 0) note += "; " + std::to_string(invalid_utf8_bytes) + " invalid UTF-8 bytes in all";
    out_.push_back(note + ")");
  }

 private:
  std::vector<std::string>& out_;
  size_t omitted_ = 0;
};

// Offset of the first '[' or '{' that opens a level deeper than `max_depth`, outside
// strings; nullopt if there is none. Linear, no recursion. On text nlohmann accepts, our
// count is its nesting depth, so the parser never goes deeper than `max_depth`.
std::optional<size_t> FirstTooDeep(std::string_view t, size_t max_depth) {
  size_t depth = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '"') {
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\\') ++i;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      if (++depth > max_depth) return i;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

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
      // dump() escapes quotes and C0 controls but not DEL or C1 controls: Printable does.
      return "string " + text::Printable(value.dump(), 40);
    default:
      return Truncated(value.dump(), 40);  // numbers and booleans read as themselves
  }
}

// "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..." ->
// "syntax error ...": the byte offset is reported separately, the rest is noise. The
// parser quotes the token it was reading ("last read: '...'"), which in a hostile body can
// be the whole megabyte of an unterminated string: only its start is kept.
std::string ParseErrorDetail(const json::parse_error& error) {
  std::string_view what = error.what();
  if (const size_t column = what.find("column "); column != std::string_view::npos) {
    if (const size_t colon = what.find(": ", column); colon != std::string_view::npos) {
      what = what.substr(colon + 2);
    }
  } else if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
    what = what.substr(bracket + 2);
  }
  constexpr std::string_view kLastRead = "last read: '";
  std::string detail;
  if (const size_t at = what.find(kLastRead); at != std::string_view::npos) {
    const size_t token_from = at + kLastRead.size();
    size_t token_end = what.rfind('\'');
    if (token_end == std::string_view::npos || token_end < token_from) token_end = what.size();
    detail = std::string(what.substr(0, token_from));
    detail += Truncated(std::string(what.substr(token_from, token_end - token_from)), kMaxTokenInError);
    detail += what.substr(token_end);
  } else {
    detail = std::string(what);
  }
  // The parser's snippet can end inside a multi-byte character (or quote raw bytes):
  // escape it, so the reason stays printable UTF-8 in logs and dead-letter headers.
  return text::Printable(detail, kMaxParseErrorDetail);
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

void DecodeId(const json& object, MqMessage& out, ErrorList& errors) {
  const auto it = object.find(kId);
  if (it == object.end()) {
    errors.Add(Field(kId, "missing"));
    return;
  }
  const json& value = *it;
  constexpr std::string_view kExpected = "expected an integer or a string of digits, got ";
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      errors.Add(Field(kId, "out of range for a 64-bit integer: " + value.dump()));
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
        errors.Add(Field(kId, "out of range for a 64-bit integer: " + Describe(value)));
        return;
      case IntText::kNotAnInteger:
        break;
    }
  }
  errors.Add(Field(kId, std::string(kExpected) + Describe(value)));
}

void DecodeMessageType(const json& object, MqMessage& out, ErrorList& errors) {
  const auto it = object.find(kMessageType);
  if (it == object.end()) {
    errors.Add(Field(kMessageType, "missing"));
    return;
  }
  if (!it->is_string()) {
    errors.Add(Field(kMessageType, "expected a string, got " + Describe(*it)));
    return;
  }
  out.message_type = it->get<std::string>();
  if (out.message_type.empty()) errors.Add(Field(kMessageType, "must not be empty"));
  if (out.message_type.find('\0') != std::string::npos) errors.Add(Field(kMessageType, kNulInString));
}

// Business keys are strings in Java, but hand-written producers send numbers (60201); we keep
// the decimal text so the consumer compares like with like.
void DecodeBusinessKey(const json& object, std::string_view name, std::optional<std::string>& out,
                       ErrorList& errors) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return;  // Java omits null fields
  const json& value = *it;
  if (value.is_string()) {
    // "60201\u0000" would be silently "another order type"; a key must have one meaning.
    if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      errors.Add(Field(name, kNulInString));
      return;
    }
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
    errors.Add(Field(name, "expected a string or a number, got " + Describe(value)));
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
  ErrorList errors(result.errors);

  // Invalid bytes are replaced (length-preserving) before parsing, so that nlohmann still
  // parses the document and we can report the field they sit in and every other problem.
  // One pass, no list of offsets: a body of nothing but bad bytes costs what a good one does.
  std::string text(body);
  size_t bad_count = 0;
  size_t first_bad = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t length = text::WellFormedLength(text, i);
    if (length != 0) {
      i += length;
      continue;
    }
    if (bad_count++ == 0) first_bad = i;
    text[i++] = '?';
  }
  const auto body_utf8_error = [&] {
    std::string e = "body: invalid UTF-8 at byte " + std::to_string(first_bad + 1);
    if (bad_count > 1) e += " (" + std::to_string(bad_count) + " invalid bytes in all)";
    return e;
  };

  // nlohmann's parser keeps a stack as deep as the document: bound it before parsing.
  if (const auto too_deep = FirstTooDeep(text, kMaxNestingDepth)) {
    if (bad_count > 0) errors.Add(body_utf8_error());
    errors.Add("body: invalid JSON at byte " + std::to_string(*too_deep + 1) + ": nested deeper than " +
               std::to_string(kMaxNestingDepth) + " levels");
    errors.Finish(bad_count);
    return result;
  }

  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& error) {
    if (bad_count > 0) errors.Add(body_utf8_error());
    errors.Add("body: invalid JSON at byte " + std::to_string(error.byte) + ": " + ParseErrorDetail(error));
    errors.Finish(bad_count);
    return result;
  } catch (const json::exception& error) {
    // Not a syntax error but still bad input, e.g. a number beyond double's range (1e400:
    // out_of_range.406). The decoder never throws for bad input.
    if (bad_count > 0) errors.Add(body_utf8_error());
    errors.Add(std::string("body: invalid JSON: ") +
               (error.id == 406 ? "a number is out of range" : "unreadable value"));
    errors.Finish(bad_count);
    return result;
  }
  if (!document.is_object()) {
    errors.Add("body: expected a JSON object, got " + Describe(document));
    errors.Finish(bad_count);
    return result;
  }

  // The members as written (nlohmann keeps only the last of a repeated name).
  const std::vector<MemberSpan> members = TopLevelMembers(text);
  bool field_bad[kFieldCount] = {};
  int field_seen[kFieldCount] = {};
  for (const MemberSpan& member : members) {
    if (const auto field = FieldIndex(member.key)) ++field_seen[*field];
  }

  // One UTF-8 error per member (its first bad byte), naming the member it lies in. Members
  // are disjoint and in order, so one walk over the body finds them all (linear).
  if (bad_count > 0) {
    size_t next_member = 0;
    std::optional<size_t> reported_member;
    bool reported_body = false;
    for (size_t i = first_bad; i < body.size();) {
      const size_t length = text::WellFormedLength(body, i);
      if (length != 0) {
        i += length;
        continue;
      }
      while (next_member < members.size() && members[next_member].end <= i) ++next_member;
      const std::string where = "invalid UTF-8 at byte " + std::to_string(i + 1);
      if (next_member < members.size() && i >= members[next_member].begin) {
        if (reported_member != next_member) {
          reported_member = next_member;
          const MemberSpan& owner = members[next_member];
          if (const auto field = FieldIndex(owner.key)) field_bad[*field] = true;
          errors.Add(Field(text::Printable(owner.key, kMaxKeyInError), where));
        }
      } else if (!reported_body) {
        reported_body = true;
        errors.Add("body: " + where);
      }
      ++i;
    }
  }

  // The decoded value of a repeated field would be whichever came last: refuse to guess.
  for (size_t f = 0; f < kFieldCount; ++f) {
    if (field_seen[f] > 1) {
      field_bad[f] = true;
      errors.Add(Field(kFields[f], "given " + std::to_string(field_seen[f]) + " times; it must appear once"));
    }
  }

  MqMessage message;
  if (!field_bad[kIdField]) DecodeId(document, message, errors);
  if (!field_bad[kMessageTypeField]) DecodeMessageType(document, message, errors);
  std::optional<std::string>* keys[] = {&message.business_key1, &message.business_key2,
                                        &message.business_key3};
  for (size_t i = 0; i < 3; ++i) {
    if (!field_bad[kBusinessKey1Field + i]) DecodeBusinessKey(document, kBusinessKeys[i], *keys[i], errors);
  }
  const bool ok = errors.Empty();
  errors.Finish(bad_count);
  if (ok) result.message = std::move(message);
  return result;
}

std::string DedupKey(const std::optional<std::string>& amqp_message_id, const MqMessage& message) {
  if (amqp_message_id && !amqp_message_id->empty()) return *amqp_message_id;
  return message.message_type + ":" + std::to_string(message.id);
}

}  // namespace paynotify::messages

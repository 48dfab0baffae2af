#include "common/messages/mq_message.hpp"

#include "common/text/utf8.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace paynotify::messages {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

MqMessage PaymentResult() {
  MqMessage m;
  m.id = 42;
  m.message_type = std::string(kPaymentResultType);
  m.business_key1 = "1";
  m.business_key2 = "60201";
  return m;
}

// Decodes a body that must be valid and returns the message (fails the test otherwise).
MqMessage DecodeOk(std::string_view body) {
  DecodeResult r = DecodeMqMessage(body);
  EXPECT_THAT(r.errors, IsEmpty()) << "body: " << body;
  EXPECT_TRUE(r.message.has_value()) << "body: " << body;
  return r.message.value_or(MqMessage{});
}

// Decodes a body that must be rejected and returns the errors.
std::vector<std::string> DecodeErrors(std::string_view body) {
  DecodeResult r = DecodeMqMessage(body);
  EXPECT_FALSE(r.message.has_value()) << "body: " << body;
  return r.errors;
}

TEST(WireConstants, MatchTheContract) {
  EXPECT_EQ(kExchange, "paynotify_exchange_fanout");
  EXPECT_EQ(kPaymentResultType, "payresult_notify");
  EXPECT_EQ(kContentType, "application/json");
  EXPECT_EQ(kAppIdOrderService, "order-service");
}

// --- encoding ----------------------------------------------------------------------------

TEST(EncodeMqMessage, WritesTheJavaShapeInCamelCaseWithNulls) {
  EXPECT_EQ(EncodeMqMessage(PaymentResult()),
            R"({"id":42,"messageType":"payresult_notify","businessKey1":"1",)"
            R"("businessKey2":"60201","businessKey3":null})");
}

TEST(EncodeMqMessage, WritesAllAbsentKeysAsNullAndEscapesStrings) {
  MqMessage m;
  m.id = 9223372036854775807;
  m.message_type = "a\"b\\c\n";
  EXPECT_EQ(EncodeMqMessage(m),
            R"({"id":9223372036854775807,"messageType":"a\"b\\c\n","businessKey1":null,)"
            R"("businessKey2":null,"businessKey3":null})");
}

TEST(EncodeMqMessage, RejectsInvalidUtf8NamingTheField) {
  MqMessage m = PaymentResult();
  m.business_key2 = "60\xFF";
  try {
    EncodeMqMessage(m);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "businessKey2: not valid UTF-8");
  }
}

TEST(MqMessageCodec, RoundTrips) {
  MqMessage full = PaymentResult();
  full.business_key3 = "\xE8\xAF\xBE\xE7\xA8\x8B \xF0\x9F\x98\x80 \"quoted\"";  // 课程 😀
  MqMessage bare;
  bare.id = -7;
  bare.message_type = "other";
  MqMessage huge = PaymentResult();
  huge.id = 9223372036854775807;
  huge.business_key1 = std::string(500, 'x');
  for (const MqMessage& m : {PaymentResult(), full, bare, huge}) {
    EXPECT_EQ(DecodeOk(EncodeMqMessage(m)), m);
  }
}

// --- tolerant reading --------------------------------------------------------------------

TEST(DecodeMqMessage, AcceptsTheJavaShapeWithNullsOmitted) {
  // Jackson with NON_NULL inclusion, as the Java platform publishes it.
  MqMessage m = DecodeOk(R"({"id":42,"messageType":"payresult_notify","businessKey1":"1","businessKey2":"60201"})");
  EXPECT_EQ(m, PaymentResult());
  EXPECT_FALSE(m.business_key3.has_value());

  MqMessage only_required = DecodeOk(R"({"messageType":"payresult_notify","id":1})");
  EXPECT_EQ(only_required.id, 1);
  EXPECT_FALSE(only_required.business_key1.has_value());
  EXPECT_FALSE(only_required.business_key2.has_value());
}

TEST(DecodeMqMessage, TreatsExplicitNullKeysAsAbsent) {
  MqMessage m = DecodeOk(
      R"({"id":42,"messageType":"payresult_notify","businessKey1":null,"businessKey2":null,"businessKey3":null})");
  EXPECT_FALSE(m.business_key1.has_value());
  EXPECT_FALSE(m.business_key2.has_value());
  EXPECT_FALSE(m.business_key3.has_value());
}

TEST(DecodeMqMessage, IgnoresUnknownFieldsOfAnyType) {
  MqMessage m = DecodeOk(R"({
    "id": 42, "messageType": "payresult_notify", "businessKey1": "1", "businessKey2": "60201",
    "executeNum": 0, "state": "0", "returnfailureDate": null, "createTime": "2024-01-01 10:00:00",
    "nested": {"id": "not-the-id", "list": [1, {"a": "}"}]}, "flag": true, "ratio": 0.5
  })");
  EXPECT_EQ(m, PaymentResult());
}

TEST(DecodeMqMessage, AcceptsIdAsNumberOrStringOfDigits) {
  EXPECT_EQ(DecodeOk(R"({"id":42,"messageType":"t"})").id, 42);
  EXPECT_EQ(DecodeOk(R"({"id":"42","messageType":"t"})").id, 42);
  EXPECT_EQ(DecodeOk(R"({"id":"9223372036854775807","messageType":"t"})").id, 9223372036854775807);
  EXPECT_EQ(DecodeOk(R"({"id":9223372036854775807,"messageType":"t"})").id, 9223372036854775807);
  EXPECT_EQ(DecodeOk(R"({"id":"-3","messageType":"t"})").id, -3);
  EXPECT_EQ(DecodeOk(R"({"id":0,"messageType":"t"})").id, 0);
}

TEST(DecodeMqMessage, AcceptsBusinessKeysAsNumbersKeepingTheirDecimalText) {
  MqMessage m = DecodeOk(
      R"({"id":1,"messageType":"t","businessKey1":12345678901234,"businessKey2":60201.0,"businessKey3":-5})");
  EXPECT_EQ(m.business_key1, "12345678901234");
  EXPECT_EQ(m.business_key2, "60201");
  EXPECT_EQ(m.business_key3, "-5");
  EXPECT_EQ(DecodeOk(R"({"id":1,"messageType":"t","businessKey1":1.5})").business_key1, "1.5");
  EXPECT_EQ(DecodeOk(R"({"id":1,"messageType":"t","businessKey1":18446744073709551615})").business_key1,
            "18446744073709551615");
}

TEST(DecodeMqMessage, AcceptsWhitespaceByteOrderMarkAndUnicode) {
  MqMessage m = DecodeOk("\xEF\xBB\xBF \n{ \"id\" : 1 , \"messageType\" : \"t\", \"businessKey1\": \"\\u8bfe\xE7\xA8\x8B\" }\n");
  EXPECT_EQ(m.business_key1, "\xE8\xAF\xBE\xE7\xA8\x8B");
}

// --- malformed bodies: each error, word for word -------------------------------------------

TEST(DecodeMqMessage, ReportsInvalidJsonWithTheParserPosition) {
  EXPECT_THAT(DecodeErrors(""),
              ElementsAre("body: invalid JSON at byte 1: syntax error while parsing value - "
                          "unexpected end of input; expected '[', '{', or a literal"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,})"),
              ElementsAre("body: invalid JSON at byte 9: syntax error while parsing object key - "
                          "unexpected '}'; expected string literal"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":"t"} trailing)"),
              ElementsAre("body: invalid JSON at byte 30: syntax error while parsing value - "
                          "invalid literal; last read: '\"t\"} tra'; expected end of input"));
}

TEST(DecodeMqMessage, ReportsADocumentThatIsNotAnObject) {
  EXPECT_THAT(DecodeErrors("[1,2]"), ElementsAre("body: expected a JSON object, got array"));
  EXPECT_THAT(DecodeErrors(R"("text")"), ElementsAre("body: expected a JSON object, got string \"text\""));
  EXPECT_THAT(DecodeErrors("null"), ElementsAre("body: expected a JSON object, got null"));
  EXPECT_THAT(DecodeErrors("42"), ElementsAre("body: expected a JSON object, got 42"));
}

TEST(DecodeMqMessage, ReportsMissingRequiredFields) {
  EXPECT_THAT(DecodeErrors("{}"), ElementsAre("id: missing", "messageType: missing"));
  EXPECT_THAT(DecodeErrors(R"({"messageType":"t"})"), ElementsAre("id: missing"));
  EXPECT_THAT(DecodeErrors(R"({"id":1})"), ElementsAre("messageType: missing"));
}

TEST(DecodeMqMessage, ReportsAnIdThatIsNotAnInteger) {
  const auto id_error = [](std::string_view id) {
    return DecodeErrors(std::string(R"({"messageType":"t","id":)") + std::string(id) + "}");
  };
  const std::string expected = "id: expected an integer or a string of digits, got ";
  EXPECT_THAT(id_error(R"("abc")"), ElementsAre(expected + "string \"abc\""));
  EXPECT_THAT(id_error(R"("")"), ElementsAre(expected + "string \"\""));
  EXPECT_THAT(id_error(R"(" 42")"), ElementsAre(expected + "string \" 42\""));
  EXPECT_THAT(id_error(R"("4-2")"), ElementsAre(expected + "string \"4-2\""));
  EXPECT_THAT(id_error("1.5"), ElementsAre(expected + "1.5"));
  EXPECT_THAT(id_error("42.0"), ElementsAre(expected + "42.0"));
  EXPECT_THAT(id_error("true"), ElementsAre(expected + "true"));
  EXPECT_THAT(id_error("null"), ElementsAre(expected + "null"));
  EXPECT_THAT(id_error(R"({"value":1})"), ElementsAre(expected + "object"));
  EXPECT_THAT(id_error("[1]"), ElementsAre(expected + "array"));
  EXPECT_THAT(id_error("9223372036854775808"),
              ElementsAre("id: out of range for a 64-bit integer: 9223372036854775808"));
  EXPECT_THAT(id_error(R"("99999999999999999999")"),
              ElementsAre("id: out of range for a 64-bit integer: string \"99999999999999999999\""));
}

TEST(DecodeMqMessage, ReportsAMessageTypeThatIsNotANonEmptyString) {
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":5})"),
              ElementsAre("messageType: expected a string, got 5"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":null})"),
              ElementsAre("messageType: expected a string, got null"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":""})"),
              ElementsAre("messageType: must not be empty"));
}

TEST(DecodeMqMessage, ReportsBusinessKeysOfTheWrongType) {
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":"t","businessKey1":{"courseId":1}})"),
              ElementsAre("businessKey1: expected a string or a number, got object"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":"t","businessKey2":["60201"]})"),
              ElementsAre("businessKey2: expected a string or a number, got array"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":"t","businessKey3":false})"),
              ElementsAre("businessKey3: expected a string or a number, got false"));
}

TEST(DecodeMqMessage, ReportsEveryProblemAtOnce) {
  EXPECT_THAT(
      DecodeErrors(R"({"id":"x","messageType":7,"businessKey1":{},"businessKey2":[],"businessKey3":true})"),
      ElementsAre("id: expected an integer or a string of digits, got string \"x\"",
                  "messageType: expected a string, got 7",
                  "businessKey1: expected a string or a number, got object",
                  "businessKey2: expected a string or a number, got array",
                  "businessKey3: expected a string or a number, got true"));
}

TEST(DecodeMqMessage, ShortensLongValuesInErrors) {
  const std::string body = R"({"id":")" + std::string(100, 'a') + R"(","messageType":"t"})";
  EXPECT_THAT(DecodeErrors(body),
              ElementsAre("id: expected an integer or a string of digits, got string \"" +
                          std::string(39, 'a') + "...(+62 bytes)"));
}

TEST(DecodeMqMessage, ReportsInvalidUtf8InTheFieldItSitsIn) {
  //                       1234567890123456789012345678901234567890123456
  const std::string body = "{\"id\":1,\"messageType\":\"t\",\"businessKey1\":\"ab\xFF\"}";
  EXPECT_THAT(DecodeErrors(body), ElementsAre("businessKey1: invalid UTF-8 at byte 45"));
}

TEST(DecodeMqMessage, ReportsInvalidUtf8BesideOtherProblems) {
  const std::string body = "{\"messageType\":\"pay\xC3\x28\",\"businessKey2\":{},\"x\":\"\xED\xA0\x80\"}";
  EXPECT_THAT(DecodeErrors(body),
              ElementsAre("messageType: invalid UTF-8 at byte 20", "x: invalid UTF-8 at byte 47",
                          "id: missing", "businessKey2: expected a string or a number, got object"));
}

TEST(DecodeMqMessage, ReportsInvalidUtf8OutsideAnyStringAsInvalidJson) {
  const std::string body = "{\"id\":1\xFF}";
  EXPECT_THAT(DecodeErrors(body),
              ElementsAre("body: invalid UTF-8 at byte 8",
                          "body: invalid JSON at byte 8: syntax error while parsing object - "
                          "invalid literal; last read: '1?'; expected '}'"));
}

// --- hostile bodies (issue 10): linear time, bounded errors, bounded depth ----------------

size_t TotalSize(const std::vector<std::string>& errors) {
  size_t total = 0;
  for (const auto& e : errors) total += e.size();
  return total;
}

TEST(DecodeMqMessage, ManyMembersWithInvalidUtf8DecodeInLinearTimeWithABoundedError) {
  // ~2 MB of members, each with an invalid byte: this took about a minute (one scan of all
  // members per bad byte) and produced megabytes of error text.
  std::string body = "{";
  for (int i = 0; body.size() < 2'000'000; ++i) body += "\"k" + std::to_string(i) + "\":\"\xFF\",";
  body += "\"id\":1,\"messageType\":\"t\"}";
  const auto started = std::chrono::steady_clock::now();
  const DecodeResult r = DecodeMqMessage(body);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_FALSE(r.message.has_value());
  ASSERT_EQ(r.errors.size(), kMaxDecodeErrors + 1);
  EXPECT_EQ(r.errors.front(), "k0: invalid UTF-8 at byte 8");
  EXPECT_THAT(r.errors.back(), ::testing::StartsWith("("));
  EXPECT_THAT(r.errors.back(), ::testing::HasSubstr("more problems not listed"));
  EXPECT_THAT(r.errors.back(), ::testing::HasSubstr("invalid UTF-8 bytes in all"));
  EXPECT_LT(TotalSize(r.errors), 1024u);
}

TEST(DecodeMqMessage, TwoMegabytesOfInvalidBytesAreOneShortErrorWithACount) {
  const std::string body(2 * 1024 * 1024, '\xFF');
  const auto started = std::chrono::steady_clock::now();
  const DecodeResult r = DecodeMqMessage(body);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_FALSE(r.message.has_value());
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0], "body: invalid UTF-8 at byte 1 (2097152 invalid bytes in all)");
  EXPECT_THAT(r.errors[1], ::testing::StartsWith("body: invalid JSON at byte 1: "));
  EXPECT_LT(TotalSize(r.errors), 512u);
}

TEST(DecodeMqMessage, AHugeUnterminatedStringGivesAShortParserError) {
  // The parser quotes what it read last: here the whole megabyte.
  const std::string body = "{\"id\":1,\"messageType\":\"" + std::string(1'000'000, 'a');
  const std::vector<std::string> errors = DecodeErrors(body);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], ::testing::StartsWith("body: invalid JSON at byte 1000024: syntax error while parsing "
                                               "value - invalid string: missing closing quote; last read: '\"aaa"));
  EXPECT_LT(errors[0].size(), 300u);
}

TEST(DecodeMqMessage, RefusesNestingDeeperThanTheCapBeforeParsing) {
  EXPECT_THAT(DecodeErrors(std::string(1'000'000, '[')),
              ElementsAre("body: invalid JSON at byte 65: nested deeper than 64 levels"));
  const auto nested = [](size_t depth) {
    return R"({"id":1,"messageType":"t","extra":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') +
           "}";
  };
  DecodeOk(nested(kMaxNestingDepth));  // the object itself is level 1
  EXPECT_THAT(DecodeErrors(nested(kMaxNestingDepth + 1)),
              ElementsAre("body: invalid JSON at byte 98: nested deeper than 64 levels"));
  // Brackets inside strings (escaped quotes included) are text, not nesting.
  const std::string in_string = R"({"id":1,"messageType":"t","extra":"\")" + std::string(500, '[') + "\"}";
  DecodeOk(in_string);
}

TEST(DecodeMqMessage, LongMemberNamesAreShortenedAndEscapedInErrors) {
  const std::string key = std::string(10'000, 'k') + "\\n";  // JSON escape: a real newline in the name
  const std::vector<std::string> errors =
      DecodeErrors("{\"id\":1,\"messageType\":\"t\",\"" + key + "\":\"\xFF\"}");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_LT(errors[0].size(), 200u);
  EXPECT_THAT(errors[0], ::testing::HasSubstr("...(+"));
  EXPECT_EQ(errors[0].find('\n'), std::string::npos);
}

TEST(DecodeMqMessage, RefusesOneOfOurFieldsGivenTwice) {
  // Parsers disagree on which of the two wins; a business key must have one meaning.
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":"t","businessKey1":"1","businessKey1":"2"})"),
              ElementsAre("businessKey1: given 2 times; it must appear once"));
  EXPECT_THAT(DecodeErrors(R"({"id":1,"id":1,"messageType":"t"})"),
              ElementsAre("id: given 2 times; it must appear once"));
  DecodeOk(R"({"id":1,"messageType":"t","other":1,"other":2})");  // not ours: ignored
}

TEST(DecodeMqMessage, RefusesANulCharacterInOurStrings) {
  // "60201\u0000" would otherwise be "another order type" and silently ignored.
  EXPECT_THAT(DecodeErrors(R"({"id":1,"messageType":"payresult_notify\u0000","businessKey2":"60201\u0000"})"),
              ElementsAre("messageType: contains a NUL character (\\u0000)",
                          "businessKey2: contains a NUL character (\\u0000)"));
  DecodeOk(R"({"id":1,"messageType":"t","other":"\u0000"})");  // not ours: ignored
}

// Found by tests/fuzz (mq_message): nlohmann throws out_of_range, not parse_error, for a
// number beyond double's range; the decoder must still answer with an error, not throw.
TEST(DecodeMqMessage, ANumberOutOfRangeIsAnErrorNotAnException) {
  DecodeResult result;
  ASSERT_NO_THROW(result = DecodeMqMessage(R"({"id":1e400,"messageType":"payresult_notify"})"));
  EXPECT_FALSE(result.message.has_value());
  EXPECT_THAT(result.errors, ElementsAre("body: invalid JSON: a number is out of range"));
}

// Found by tests/fuzz (mq_message): the parser's "last read" snippet cut a two-byte character
// in half, putting ill-formed UTF-8 into the dead-letter reason.
TEST(DecodeMqMessage, ParserErrorTextIsValidUtf8EvenWhenItsSnippetCutsACharacter) {
  const DecodeResult result = DecodeMqMessage("{\"a\":\xD9\x8F}");
  ASSERT_FALSE(result.errors.empty());
  for (const auto& error : result.errors) EXPECT_TRUE(text::IsValidUtf8(error)) << error;
}

// --- dedup key -----------------------------------------------------------------------------

TEST(DedupKey, IsTheAmqpMessageIdWhenPresent) {
  EXPECT_EQ(DedupKey(std::string("0b6f6c1e-5d1c-4b8e-9d0e-3f2a1c4b5d6e"), PaymentResult()),
            "0b6f6c1e-5d1c-4b8e-9d0e-3f2a1c4b5d6e");
}

TEST(DedupKey, FallsBackToTypeAndIdForJavaMessagesWithoutMessageId) {
  EXPECT_EQ(DedupKey(std::nullopt, PaymentResult()), "payresult_notify:42");
  EXPECT_EQ(DedupKey(std::string(), PaymentResult()), "payresult_notify:42");
}

}  // namespace
}  // namespace paynotify::messages

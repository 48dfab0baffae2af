// Fuzz target: the MqMessage decoder (common/messages/mq_message.*) that learning-service
// runs on every body taken from the broker. The body is the fuzz input.
//
// Properties, beyond "no crash, no sanitizer report" (deep nesting included):
//  - exactly one of message / errors;
//  - every error printable and bounded, and all of them together bounded whatever the body
//    (issue 10: a multi-MB error text was logged for a body full of invalid UTF-8);
//  - a decoded message encodes (EncodeMqMessage does not throw: everything decoded is valid
//    UTF-8) and decodes back to the same message; its dedup key is never empty.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/messages/mq_message.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {
// All error texts of one body together (they end up in one log line and one dead-letter
// header). Independent of the body's size on purpose.
constexpr size_t kMaxAllErrorsBytes = 16 * 1024;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace paynotify::messages;
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  const DecodeResult decoded = DecodeMqMessage(body);
  FUZZ_CHECK(decoded.message.has_value() == decoded.errors.empty(),
             "DecodeMqMessage sets exactly one of message and errors");
  size_t error_bytes = 0;
  for (const auto& error : decoded.errors) {
    FUZZ_CHECK_ERROR_TEXT(error);
    error_bytes += error.size();
  }
  FUZZ_CHECK_IN("error-text", error_bytes <= kMaxAllErrorsBytes,
                "the error texts of one body are bounded together");
  if (!decoded.message) return 0;

  const MqMessage& message = *decoded.message;
  FUZZ_CHECK(!message.message_type.empty(), "messageType is never empty");
  const std::string encoded = EncodeMqMessage(message);
  const DecodeResult again = DecodeMqMessage(encoded);
  FUZZ_CHECK(again.message == decoded.message, "a decoded message encodes and decodes back");
  FUZZ_CHECK(!DedupKey(std::nullopt, message).empty(), "the dedup key is never empty");
  return 0;
}

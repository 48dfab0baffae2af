#include "common/amqp/errors.hpp"

#include <amqp_framing.h>

#include <fmt/format.h>

namespace paynotify::amqp {
namespace {

std::string BytesToString(const amqp_bytes_t& bytes) {
  if (bytes.bytes == nullptr || bytes.len == 0) return {};
  return std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

// Codes that mean "this will not get better by reconnecting": credentials, permissions,
// vhost, arguments. Everything else (320 CONNECTION_FORCED, 541 INTERNAL_ERROR, 505/501
// framing trouble, 405 RESOURCE_LOCKED) is worth another attempt after a back-off.
bool IsRetryableCode(uint16_t code) {
  switch (code) {
    case 402:  // INVALID_PATH (vhost)
    case 403:  // ACCESS_REFUSED
    case 404:  // NOT_FOUND (exchange/queue missing: topology must be declared first)
    case 406:  // PRECONDITION_FAILED
    case 503:  // COMMAND_INVALID
    case 530:  // NOT_ALLOWED
    case 540:  // NOT_IMPLEMENTED
      return false;
    default:
      return true;
  }
}

// The broker says "inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received
// ... but current is ..."; the quoted name is what differs.
std::string InequivalentArgument(std::string_view text) {
  constexpr std::string_view kMarker = "inequivalent arg '";
  const auto start = text.find(kMarker);
  if (start == std::string_view::npos) return {};
  const auto name_start = start + kMarker.size();
  const auto end = text.find('\'', name_start);
  if (end == std::string_view::npos) return {};
  return std::string(text.substr(name_start, end - name_start));
}

}  // namespace

std::string StatusText(int status) {
  const char* text = amqp_error_string2(status);
  return text != nullptr ? std::string(text) : fmt::format("status {}", status);
}

bool IsRetryableStatus(int status) {
  switch (status) {
    case AMQP_STATUS_INVALID_PARAMETER:
    case AMQP_STATUS_TABLE_TOO_BIG:
    case AMQP_STATUS_BAD_URL:
    case AMQP_STATUS_BROKER_UNSUPPORTED_SASL_METHOD:
    case AMQP_STATUS_UNSUPPORTED:
    case AMQP_STATUS_INCOMPATIBLE_AMQP_VERSION:
      return false;
    default:
      return true;
  }
}

void CheckStatus(int status, std::string_view context) {
  if (status >= 0) return;
  throw LibraryError(fmt::format("amqp: {}: {}", context, StatusText(status)),
                     IsRetryableStatus(status), status);
}

void ThrowServerClose(const amqp_method_t& method, std::string_view context) {
  // (Each message is formatted before the text is moved into the exception: argument
  // evaluation order is unspecified.)
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD && method.decoded != nullptr) {
    const auto* close = static_cast<const amqp_channel_close_t*>(method.decoded);
    const uint16_t code = close->reply_code;
    std::string text = BytesToString(close->reply_text);
    if (code == 406) {
      if (std::string argument = InequivalentArgument(text); !argument.empty()) {
        const std::string what = fmt::format(
            "amqp: {}: existing entity differs in '{}': broker closed the channel: {} {}",
            context, argument, code, text);
        throw TopologyMismatch(what, code, std::move(text), std::move(argument));
      }
    }
    const std::string what =
        fmt::format("amqp: {}: broker closed the channel: {} {}", context, code, text);
    throw ChannelClosed(what, IsRetryableCode(code), code, std::move(text));
  }
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD && method.decoded != nullptr) {
    const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
    const uint16_t code = close->reply_code;
    std::string text = BytesToString(close->reply_text);
    const std::string what =
        fmt::format("amqp: {}: broker closed the connection: {} {}", context, code, text);
    throw ConnectionClosed(what, IsRetryableCode(code), code, std::move(text));
  }
  throw AmqpError(fmt::format("amqp: {}: unexpected method {:#010x} from the broker", context,
                              method.id),
                  true);
}

void CheckReply(const amqp_rpc_reply_t& reply, std::string_view context) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_NONE:
      throw LibraryError(fmt::format("amqp: {}: no RPC reply (missing reply type)", context),
                         true, AMQP_STATUS_UNEXPECTED_STATE);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      throw LibraryError(
          fmt::format("amqp: {}: {}", context, StatusText(reply.library_error)),
          IsRetryableStatus(reply.library_error), reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      ThrowServerClose(reply.reply, context);
  }
  throw AmqpError(fmt::format("amqp: {}: unknown reply type {}", context,
                              static_cast<int>(reply.reply_type)),
                  true);
}

}  // namespace paynotify::amqp

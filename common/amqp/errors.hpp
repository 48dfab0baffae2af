#pragma once
// The one error model of common/amqp: every rabbitmq-c status code and amqp_rpc_reply_t
// becomes one of the typed exceptions below, in errors.cpp and nowhere else.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <amqp.h>

namespace paynotify::amqp {

/// Base of every failure this library throws. `retryable` tells a worker loop whether
/// reconnecting after a back-off can help (socket errors, broker restarts, heartbeat
/// timeouts) or not (access refused, wrong vhost, a topology mismatch: a config problem).
struct AmqpError : std::runtime_error {
  AmqpError(const std::string& what, bool retryable_)
      : std::runtime_error(what), retryable(retryable_) {}
  bool retryable;
};

/// rabbitmq-c reported a local failure: socket error or close, timeout, heartbeat timeout,
/// name resolution, bad data. After one of these the connection is unusable.
/// `status` is the amqp_status_enum value (negative).
struct LibraryError : AmqpError {
  LibraryError(const std::string& what, bool retryable_, int status_)
      : AmqpError(what, retryable_), status(status_) {}
  int status;
};

/// The broker closed the channel (soft error): `code` is the AMQP reply code (404
/// NOT_FOUND, 406 PRECONDITION_FAILED, 403 ACCESS_REFUSED, ...) and `text` the broker's
/// reply text. The connection itself stays usable; close-ok has been sent.
struct ChannelClosed : AmqpError {
  ChannelClosed(const std::string& what, bool retryable_, uint16_t code_, std::string text_)
      : AmqpError(what, retryable_), code(code_), text(std::move(text_)) {}
  uint16_t code;
  std::string text;
};

/// The broker closed the whole connection (hard error, or 320 CONNECTION_FORCED from an
/// operator or a node shutting down); close-ok has been sent and the connection is gone.
struct ConnectionClosed : AmqpError {
  ConnectionClosed(const std::string& what, bool retryable_, uint16_t code_, std::string text_)
      : AmqpError(what, retryable_), code(code_), text(std::move(text_)) {}
  uint16_t code;
  std::string text;
};

/// A declare found an existing exchange/queue with different settings (406
/// PRECONDITION_FAILED "inequivalent arg ..."). `argument` names what differs
/// ("x-message-ttl", "durable", "type", "x-queue-type", ...); what() says it too. Never
/// retryable: someone has to delete the old entity or fix the config.
struct TopologyMismatch : ChannelClosed {
  TopologyMismatch(const std::string& what, uint16_t code_, std::string text_,
                   std::string argument_)
      : ChannelClosed(what, false, code_, std::move(text_)), argument(std::move(argument_)) {}
  std::string argument;
};

/// The broker cancelled our consumer (basic.cancel: the queue was deleted or, for a
/// quorum queue, its leader moved). Retryable: reconnect and consume again.
struct ConsumerCancelled : AmqpError {
  using AmqpError::AmqpError;
};

/// Throws LibraryError when `status` (a rabbitmq-c int result) is negative; `context` says
/// what we were doing ("basic.publish to 'x'"). Returns normally otherwise.
void CheckStatus(int status, std::string_view context);

/// Throws for anything but AMQP_RESPONSE_NORMAL: LibraryError for a library exception,
/// ChannelClosed / ConnectionClosed (with the broker's code and reply text) for a server
/// exception. Does NOT send close-ok: Connection::Check does that before calling this.
void CheckReply(const amqp_rpc_reply_t& reply, std::string_view context);

/// Turns a server-sent channel.close / connection.close method (from an RPC reply or a
/// frame read while waiting for confirms or deliveries) into ChannelClosed /
/// ConnectionClosed; a 406 "inequivalent arg 'X'" becomes TopologyMismatch naming X.
[[noreturn]] void ThrowServerClose(const amqp_method_t& method, std::string_view context);

/// "socket closed unexpectedly" etc.: the text of a rabbitmq-c status code.
std::string StatusText(int status);

/// Whether a failure with this library status may go away by reconnecting.
bool IsRetryableStatus(int status);

}  // namespace paynotify::amqp

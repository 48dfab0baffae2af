#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <amqp.h>

#include "common/amqp/settings.hpp"

namespace paynotify::amqp {

/// One AMQP connection with one channel (channel 1), RAII over amqp_connection_state_t.
///
/// Threading: rabbitmq-c connections are not thread-safe and heartbeats are only serviced
/// inside library calls, so a Connection belongs to exactly one thread, which must keep
/// calling into it (Consumer::Next, ConfirmPublisher waits do) at least every heartbeat/2.
/// Never share one between threads; open one per worker.
///
/// Failure: any library or server error marks the connection broken (IsOpen() false); the
/// owner drops it and opens a new one. A broker channel.close (soft error, e.g. a 406 on
/// declare) keeps the connection: the channel is reopened on the next Channel() call.
class Connection {
 public:
  /// Connects to the first address that accepts TCP within connect_timeout and the login,
  /// trying them in the order `rotation` gives (it is told which one connected), or in list
  /// order without one; opens channel 1. Logs the address chosen. Sends client property
  /// connection_name. Throws AmqpError (the last address's error type when there is one
  /// address; otherwise an AmqpError listing every address's error, retryable if any of them
  /// was).
  static std::unique_ptr<Connection> Open(const BrokerSettings& settings, AddressRotation* rotation = nullptr);

  ~Connection();  // Close()
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// False after a socket error, heartbeat timeout, broker connection.close or Close().
  bool IsOpen() const { return state_ != nullptr && open_; }
  /// Best-effort graceful connection.close (bounded by rpc_timeout), then frees everything.
  /// Idempotent, never throws.
  void Close() noexcept;

  const BrokerAddress& Address() const { return address_; }
  const std::string& Name() const { return name_; }
  /// Heartbeat interval negotiated with the broker, in seconds (0 = disabled).
  int HeartbeatSeconds() const;
  /// The longest a single blocking library call may wait so that heartbeats keep flowing:
  /// heartbeat/2 (1 s when heartbeats are disabled, to stay responsive).
  std::chrono::milliseconds WaitSlice() const;

  // ---- For common/amqp internals (the only place raw amqp_* calls are allowed). ----

  /// The raw state. Valid while IsOpen().
  amqp_connection_state_t State() const { return state_; }
  /// Channel 1, reopening it first if the broker closed it. Throws AmqpError.
  amqp_channel_t Channel();
  /// Checks the reply of the last RPC: on a server channel.close/connection.close answers
  /// with close-ok and updates the state; on a library error marks the connection broken;
  /// then throws via CheckReply (typed, with the broker's text).
  void Check(const amqp_rpc_reply_t& reply, std::string_view context);
  /// Check(amqp_get_rpc_reply(State()), context) for the amqp_*-returns-pointer RPC calls.
  void CheckLastRpc(std::string_view context);
  /// Marks the connection broken and throws LibraryError when status is negative.
  void CheckStatus(int status, std::string_view context);
  /// A channel.close / connection.close frame arrived while waiting: answer close-ok,
  /// update the state, throw ChannelClosed / ConnectionClosed / TopologyMismatch.
  [[noreturn]] void OnServerClose(const amqp_method_t& method, std::string_view context);
  /// The socket is unusable (or we gave up on it): IsOpen() becomes false.
  void MarkBroken() noexcept { open_ = false; }

  static constexpr amqp_channel_t kChannel = 1;

 private:
  Connection(amqp_connection_state_t state, BrokerAddress address, std::string name,
             std::chrono::milliseconds rpc_timeout);
  static std::unique_ptr<Connection> OpenOne(const BrokerSettings& settings,
                                             const BrokerAddress& address,
                                             const std::string& name);

  amqp_connection_state_t state_ = nullptr;
  bool open_ = false;
  bool channel_open_ = false;
  BrokerAddress address_;
  std::string name_;
  std::chrono::milliseconds rpc_timeout_;
};

/// timeval for rabbitmq-c from a duration (negative -> zero).
struct timeval ToTimeval(std::chrono::milliseconds duration);

}  // namespace paynotify::amqp

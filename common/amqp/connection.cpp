#include "common/amqp/connection.hpp"

#include <unistd.h>

#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <fmt/format.h>

#include "common/amqp/errors.hpp"
#include "common/log/log.hpp"
#include "common/runtime/resolve.hpp"
#include "common/text/escape.hpp"

namespace paynotify::amqp {
namespace {

constexpr int kFrameMax = 131072;

std::string DefaultName() { return fmt::format("paynotify-{}", ::getpid()); }

}  // namespace

struct timeval ToTimeval(std::chrono::milliseconds duration) {
  if (duration < std::chrono::milliseconds::zero()) duration = std::chrono::milliseconds::zero();
  struct timeval tv {};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(duration.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((duration.count() % 1000) * 1000);
  return tv;
}

Connection::Connection(amqp_connection_state_t state, BrokerAddress address, std::string name,
                       std::chrono::milliseconds rpc_timeout)
    : state_(state), open_(true), address_(std::move(address)), name_(std::move(name)),
      rpc_timeout_(rpc_timeout) {}

Connection::~Connection() { Close(); }

std::unique_ptr<Connection> Connection::OpenOne(const BrokerSettings& settings,
                                                const BrokerAddress& address,
                                                const std::string& name) {
  const std::string where = fmt::format("{}:{}", address.host, address.port);
  amqp_connection_state_t state = amqp_new_connection();
  if (state == nullptr) {
    throw LibraryError("amqp: connect to " + where + ": out of memory", false,
                       AMQP_STATUS_NO_MEMORY);
  }
  // From here the Connection owns the state, so every throw below frees it.
  std::unique_ptr<Connection> connection(
      new Connection(state, address, name, settings.rpc_timeout));
  connection->open_ = false;  // not usable until login and channel.open succeed

  // rabbitmq-c would resolve the name itself, with getaddrinfo and no time limit: a DNS that
  // does not answer (a container's name while it restarts) then holds this thread, and any
  // shutdown that joins it, for tens of seconds. connect_timeout bounds the lookup and the TCP
  // connects together (one deadline over the addresses, as rabbitmq-c keeps one), then the
  // handshake separately.
  const auto deadline = std::chrono::steady_clock::now() + settings.connect_timeout;
  const runtime::ResolveResult resolved = runtime::ResolveWithDeadline(address.host, settings.connect_timeout);
  if (!resolved.ok()) {
    throw LibraryError("amqp: connect to " + where + ": " + resolved.error, true,
                       AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED);
  }
  int status = AMQP_STATUS_SOCKET_ERROR;
  for (const std::string& numeric : resolved.addresses) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      status = AMQP_STATUS_TIMEOUT;
      break;
    }
    // A new socket replaces (and frees) the state's previous one.
    amqp_socket_t* socket = amqp_tcp_socket_new(state);
    if (socket == nullptr) {
      throw LibraryError("amqp: connect to " + where + ": cannot create socket", true,
                         AMQP_STATUS_TCP_ERROR);
    }
    struct timeval connect_left = ToTimeval(left);
    status = amqp_socket_open_noblock(socket, numeric.c_str(), address.port, &connect_left);
    // Like rabbitmq-c: a refused or unreachable address is skipped, a timeout ends the round.
    if (status == AMQP_STATUS_OK || status == AMQP_STATUS_TIMEOUT) break;
  }
  struct timeval connect_timeout = ToTimeval(settings.connect_timeout);
  amqp::CheckStatus(status, "connect to " + where);
  amqp::CheckStatus(amqp_set_handshake_timeout(state, &connect_timeout), "set handshake timeout");
  struct timeval rpc_timeout = ToTimeval(settings.rpc_timeout);
  amqp::CheckStatus(amqp_set_rpc_timeout(state, &rpc_timeout), "set rpc timeout");

  // rabbitmq-c merges these into its defaults. consumer_cancel_notify makes the broker
  // tell a consumer whose queue was deleted (basic.cancel) instead of going silent;
  // connection.blocked announces resource alarms.
  amqp_table_entry_t capabilities[2];
  capabilities[0].key = amqp_cstring_bytes("consumer_cancel_notify");
  capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capabilities[0].value.value.boolean = 1;
  capabilities[1].key = amqp_cstring_bytes("connection.blocked");
  capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  capabilities[1].value.value.boolean = 1;
  amqp_table_entry_t entries[3];
  entries[0].key = amqp_cstring_bytes("connection_name");
  entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
  entries[0].value.value.bytes = amqp_cstring_bytes(name.c_str());
  entries[1].key = amqp_cstring_bytes("product");
  entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
  entries[1].value.value.bytes = amqp_cstring_bytes("paynotify");
  entries[2].key = amqp_cstring_bytes("capabilities");
  entries[2].value.kind = AMQP_FIELD_KIND_TABLE;
  entries[2].value.value.table.num_entries = 2;
  entries[2].value.value.table.entries = capabilities;
  amqp_table_t client_properties;
  client_properties.num_entries = 3;
  client_properties.entries = entries;
  const amqp_rpc_reply_t login = amqp_login_with_properties(
      state, settings.virtual_host.c_str(), 0, kFrameMax, settings.heartbeat_s,
      &client_properties, AMQP_SASL_METHOD_PLAIN, settings.username.c_str(),
      settings.password.c_str());
  connection->open_ = true;  // so Check() answers a connection.close with close-ok
  connection->Check(login, fmt::format("login to {} vhost '{}' as '{}'", where,
                                       settings.virtual_host, settings.username));
  amqp_channel_open(state, kChannel);
  connection->CheckLastRpc("channel.open");
  connection->channel_open_ = true;
  return connection;
}

std::unique_ptr<Connection> Connection::Open(const BrokerSettings& settings, AddressRotation* rotation) {
  if (settings.addresses.empty()) {
    throw AmqpError("amqp: no broker address configured", false);
  }
  const std::string name = settings.connection_name.empty() ? DefaultName()
                                                            : settings.connection_name;
  auto logger = log::Get("amqp");
  const size_t count = settings.addresses.size();
  std::vector<size_t> order;
  if (rotation != nullptr) {
    order = rotation->Order(count);
  } else {
    for (size_t i = 0; i < count; ++i) order.push_back(i);
  }
  std::string errors;
  bool any_retryable = false;
  for (const size_t i : order) {
    const BrokerAddress& address = settings.addresses[i];
    try {
      auto connection = OpenOne(settings, address, name);
      if (rotation != nullptr) rotation->Connected(i);
      // Hosts come from the configuration (or its environment override): printed escaped.
      logger->info("connected to {}:{} (address {} of {}) vhost={} name={} heartbeat={}s",
                   text::Printable(address.host), address.port, i + 1, count,
                   text::Printable(settings.virtual_host), text::Printable(name),
                   connection->HeartbeatSeconds());
      return connection;
    } catch (const AmqpError& error) {
      if (count == 1) throw;
      logger->info("connect to {}:{} (address {} of {}) failed: {}{}", text::Printable(address.host),
                   address.port, i + 1, count, text::Printable(error.what(), 512),
                   i == order.back() ? "" : "; trying the next address");
      any_retryable = any_retryable || error.retryable;
      if (!errors.empty()) errors += "; ";
      errors += error.what();
    }
  }
  throw AmqpError("amqp: no broker address accepted the connection: " + errors, any_retryable);
}

void Connection::Close() noexcept {
  if (state_ == nullptr) return;
  if (open_) {
    // Bounded by the rpc timeout set at open; the result does not matter any more.
    (void)amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  open_ = false;
  channel_open_ = false;
  amqp_destroy_connection(state_);
  state_ = nullptr;
}

int Connection::HeartbeatSeconds() const {
  return state_ != nullptr ? amqp_get_heartbeat(state_) : 0;
}

std::chrono::milliseconds Connection::WaitSlice() const {
  const int heartbeat = HeartbeatSeconds();
  if (heartbeat <= 0) return std::chrono::milliseconds(1000);
  return std::chrono::milliseconds(heartbeat * 1000 / 2);
}

amqp_channel_t Connection::Channel() {
  if (!IsOpen()) {
    throw AmqpError("amqp: connection " + name_ + " is closed", true);
  }
  if (!channel_open_) {
    amqp_channel_open(state_, kChannel);
    CheckLastRpc("channel.open (after the broker closed the channel)");
    channel_open_ = true;
  }
  return kChannel;
}

void Connection::Check(const amqp_rpc_reply_t& reply, std::string_view context) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
    OnServerClose(reply.reply, context);
  }
  // Library exceptions (socket, timeout, bad data) leave the connection state undefined.
  MarkBroken();
  CheckReply(reply, context);
}

void Connection::CheckLastRpc(std::string_view context) {
  Check(amqp_get_rpc_reply(state_), context);
}

void Connection::CheckStatus(int status, std::string_view context) {
  if (status >= 0) return;
  MarkBroken();
  amqp::CheckStatus(status, context);
}

void Connection::OnServerClose(const amqp_method_t& method, std::string_view context) {
  if (state_ != nullptr && open_) {
    if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_ok_t close_ok{};
      if (amqp_send_method(state_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok) < 0) {
        open_ = false;
      }
      channel_open_ = false;
    } else if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
      amqp_connection_close_ok_t close_ok{};
      (void)amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
      open_ = false;
      channel_open_ = false;
    } else {
      open_ = false;
    }
  }
  ThrowServerClose(method, context);
}

}  // namespace paynotify::amqp

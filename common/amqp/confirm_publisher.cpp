#include "common/amqp/confirm_publisher.hpp"

#include <algorithm>

#include <amqp_framing.h>

#include <fmt/format.h>

#include "common/amqp/errors.hpp"
#include "common/amqp/table.hpp"
#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::amqp {
namespace {

// PublishBatch's hook runs after messages were sent: an exception from it must not pass for
// a failure to publish them.
void CallAllSent(const std::function<void()>& all_sent) {
  try {
    all_sent();
  } catch (const std::exception& e) {
    log::Get("amqp")->error("publisher: all_sent hook threw: {}; ignored", text::Printable(e.what()));
  } catch (...) {
    log::Get("amqp")->error("publisher: all_sent hook threw; ignored");
  }
}
}  // namespace

// Book-keeping of one PublishBatch call. Index i of the batch was published with delivery
// tag first_tag + i (the broker numbers publishes on a confirm-mode channel 1, 2, 3, ...).
struct ConfirmPublisher::Batch {
  Batch(std::span<const OutgoingMessage> messages_, uint64_t first_tag_)
      : messages(messages_),
        first_tag(first_tag_),
        outcomes(messages_.size(), PublishOutcome::kUnknown),
        resolved(messages_.size(), 0),
        returned(messages_.size(), 0) {}

  void Settle(size_t index, PublishOutcome outcome) {
    if (resolved[index] != 0) return;
    resolved[index] = 1;
    // A return is always followed by the message's ack: the ack must not hide the return.
    outcomes[index] = returned[index] != 0 ? PublishOutcome::kReturned : outcome;
    ++resolved_count;
  }

  // basic.ack / basic.nack: a single tag, or with `multiple` every tag up to it.
  void Resolve(uint64_t tag, bool multiple, PublishOutcome outcome) {
    if (published == 0) return;
    if (multiple && tag == 0) tag = first_tag + published - 1;  // "everything so far"
    if (tag < first_tag) return;  // an earlier batch's tag: it already ended
    uint64_t last = tag - first_tag;
    if (last >= published) {
      log::Get("amqp")->warn("publisher: {} for delivery tag {} that was never published",
                             ToString(outcome), tag);
      if (!multiple) return;
      last = published - 1;
    }
    if (multiple) {
      for (size_t i = lowest; i <= last; ++i) Settle(i, outcome);
    } else {
      Settle(static_cast<size_t>(last), outcome);
    }
    while (lowest < published && resolved[lowest] != 0) ++lowest;
  }

  // basic.return carries no delivery tag, so find the returned message among the
  // outstanding mandatory ones by what was returned (first match in publish order, which
  // is also the order the broker routes them in).
  void MarkReturned(const std::string& exchange, const std::string& routing_key,
                    const std::string& message_id, const std::string& body) {
    for (size_t i = lowest; i < published; ++i) {
      const OutgoingMessage& m = messages[i];
      if (resolved[i] == 0 && returned[i] == 0 && m.mandatory && m.exchange == exchange &&
          m.routing_key == routing_key && m.message_id == message_id && m.body == body) {
        returned[i] = 1;
        return;
      }
    }
    log::Get("amqp")->warn(
        "publisher: basic.return matches no outstanding message exchange={} routing_key={} "
        "message_id={}; ignored",
        text::Printable(exchange), text::Printable(routing_key), text::Printable(message_id));
  }

  std::span<const OutgoingMessage> messages;
  uint64_t first_tag;
  size_t published = 0;
  size_t resolved_count = 0;
  size_t lowest = 0;  // every index below this is resolved
  std::vector<PublishOutcome> outcomes;
  std::vector<uint8_t> resolved;
  std::vector<uint8_t> returned;
};

ConfirmPublisher::ConfirmPublisher(BrokerSettings settings, size_t window)
    : settings_(std::move(settings)), window_(std::max<size_t>(window, 1)) {}

ConfirmPublisher::~ConfirmPublisher() { Close(); }

bool ConfirmPublisher::IsConnected() const { return connection_ && connection_->IsOpen(); }

void ConfirmPublisher::Connect() {
  if (IsConnected()) return;
  connection_.reset();
  auto connection = Connection::Open(settings_, &rotation_);
  const amqp_channel_t channel = connection->Channel();
  amqp_confirm_select(connection->State(), channel);
  connection->CheckLastRpc("confirm.select");
  amqp_maybe_release_buffers(connection->State());
  connection_ = std::move(connection);
  next_tag_ = 1;
}

void ConfirmPublisher::Close() {
  connection_.reset();  // ~Connection closes gracefully when still open
}

void ConfirmPublisher::Drop(const std::string& reason, bool graceful) {
  last_error_ = reason;
  if (connection_ && !graceful) connection_->MarkBroken();  // don't wait on a stuck broker
  connection_.reset();
}

void ConfirmPublisher::ServiceHeartbeats() {
  if (!connection_) return;
  if (!connection_->IsOpen()) {
    connection_.reset();
    return;
  }
  Batch idle({}, next_tag_);
  try {
    while (Pump(idle, std::chrono::milliseconds::zero())) {
    }
  } catch (const AmqpError& error) {
    log::Get("amqp")->info("publisher: connection lost while idle: {}; next batch reconnects",
                           error.what());
    Drop(error.what(), true);
  }
}

void ConfirmPublisher::PublishOne(const OutgoingMessage& message) {
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  properties.delivery_mode = message.persistent ? 2 : 1;
  if (!message.content_type.empty()) {
    properties._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    properties.content_type = Bytes(message.content_type);
  }
  if (!message.content_encoding.empty()) {
    properties._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
    properties.content_encoding = Bytes(message.content_encoding);
  }
  if (!message.message_id.empty()) {
    properties._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    properties.message_id = Bytes(message.message_id);
  }
  if (!message.type.empty()) {
    properties._flags |= AMQP_BASIC_TYPE_FLAG;
    properties.type = Bytes(message.type);
  }
  if (!message.app_id.empty()) {
    properties._flags |= AMQP_BASIC_APP_ID_FLAG;
    properties.app_id = Bytes(message.app_id);
  }
  if (message.timestamp_s) {
    properties._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    properties.timestamp = static_cast<uint64_t>(*message.timestamp_s);
  }
  const FieldTable headers(message.headers);
  if (!message.headers.empty()) {
    properties._flags |= AMQP_BASIC_HEADERS_FLAG;
    properties.headers = headers.Get();
  }
  const int status = amqp_basic_publish(
      connection_->State(), Connection::kChannel, Bytes(message.exchange),
      Bytes(message.routing_key), message.mandatory ? 1 : 0, 0, &properties, Bytes(message.body));
  // The message_id may be a consumer's copy of a foreign message: print it escaped.
  connection_->CheckStatus(
      status, fmt::format("basic.publish to '{}' message_id={}", text::Printable(message.exchange),
                          text::Printable(message.message_id)));
}

bool ConfirmPublisher::Pump(Batch& batch, std::chrono::milliseconds wait) {
  amqp_connection_state_t state = connection_->State();
  amqp_frame_t frame;
  struct timeval timeout = ToTimeval(wait);
  const int status = amqp_simple_wait_frame_noblock(state, &frame, &timeout);
  if (status == AMQP_STATUS_TIMEOUT) return false;
  connection_->CheckStatus(status, "waiting for publisher confirms");
  if (frame.frame_type == AMQP_FRAME_METHOD) {
    const amqp_method_t& method = frame.payload.method;
    switch (method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
        batch.Resolve(ack->delivery_tag, ack->multiple != 0, PublishOutcome::kConfirmed);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
        batch.Resolve(nack->delivery_tag, nack->multiple != 0, PublishOutcome::kNacked);
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* ret = static_cast<const amqp_basic_return_t*>(method.decoded);
        const std::string exchange = ToString(ret->exchange);
        const std::string routing_key = ToString(ret->routing_key);
        const std::string reply = fmt::format("{} {}", ret->reply_code, ToString(ret->reply_text));
        // The returned content (header + body frames) follows on the same channel.
        amqp_message_t returned;
        connection_->Check(amqp_read_message(state, frame.channel, &returned, 0),
                           "reading a returned message");
        std::string message_id;
        if ((returned.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) {
          message_id = ToString(returned.properties.message_id);
        }
        const std::string body = ToString(returned.body);
        amqp_destroy_message(&returned);
        log::Get("amqp")->debug("publisher: returned exchange={} routing_key={} message_id={}: {}",
                                text::Printable(exchange), text::Printable(routing_key),
                                text::Printable(message_id), text::Printable(reply));
        batch.MarkReturned(exchange, routing_key, message_id, body);
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        connection_->OnServerClose(method, "publishing with confirms");
      case AMQP_CONNECTION_BLOCKED_METHOD:
        log::Get("amqp")->warn("publisher: broker blocked the connection (resource alarm); "
                               "confirms will wait");
        break;
      case AMQP_CONNECTION_UNBLOCKED_METHOD:
        log::Get("amqp")->info("publisher: broker unblocked the connection");
        break;
      default:
        break;  // channel.flow and the like need no answer from a publisher
    }
  }
  amqp_maybe_release_buffers(state);
  return true;
}

std::vector<PublishOutcome> ConfirmPublisher::PublishBatch(
    std::span<const OutgoingMessage> messages, std::chrono::milliseconds confirm_timeout,
    const std::function<void()>& all_sent) {
  if (messages.empty()) return {};
  // A connection idle since the last batch may have been closed by the broker (missed
  // heartbeats, an operator): notice it now instead of publishing into a dead socket.
  ServiceHeartbeats();
  Connect();
  const auto deadline = std::chrono::steady_clock::now() + confirm_timeout;

  Batch batch(messages, next_tag_);
  const size_t total = messages.size();
  auto logger = log::Get("amqp");
  try {
    bool timed_out = false;
    while (batch.resolved_count < total && !timed_out) {
      while (batch.published < total && batch.published - batch.resolved_count < window_) {
        PublishOne(messages[batch.published]);
        ++batch.published;
        ++next_tag_;
        if (batch.published == total && all_sent) CallAllSent(all_sent);
        // Slide the window with whatever confirms already arrived, without blocking.
        while (Pump(batch, std::chrono::milliseconds::zero())) {
        }
        if (std::chrono::steady_clock::now() >= deadline) break;
      }
      if (batch.resolved_count == total) break;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        timed_out = true;
        break;
      }
      // Block for the next confirm, but wake at least every heartbeat/2.
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      Pump(batch, std::min(left, connection_->WaitSlice()));
    }
    if (timed_out) {
      const std::string reason = fmt::format(
          "no confirm within {}ms for {} of {} messages ({} not yet sent)",
          confirm_timeout.count(), total - batch.resolved_count, total, total - batch.published);
      logger->warn("publisher: {}; they are reported unknown, connection dropped (next batch "
                   "reconnects)",
                   reason);
      Drop(reason, false);
    }
  } catch (const AmqpError& error) {
    const std::string reason = fmt::format("{} ({} of {} messages unconfirmed)", error.what(),
                                           total - batch.resolved_count, total);
    logger->warn("publisher: {}; they are reported unknown, connection dropped (next batch "
                 "reconnects)",
                 reason);
    Drop(reason, true);
  }
  return std::move(batch.outcomes);
}

}  // namespace paynotify::amqp

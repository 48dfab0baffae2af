#include "common/amqp/queue_browser.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <new>

#include <amqp_framing.h>

#include <fmt/format.h>

#include "common/amqp/connection.hpp"
#include "common/amqp/envelope.hpp"
#include "common/amqp/table.hpp"
#include "common/amqp/topology.hpp"
#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::amqp {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// AMQP's basic.qos prefetch-count is 16 bits; 0 means no limit.
constexpr uint32_t kMaxPrefetch = 65535;
// Deliveries beyond the kept ones the broker may send ahead, at most (see the window in Walk);
// also how many settles go unproven before a basic.qos round trip proves them.
constexpr uint64_t kSyncWindow = 256;
// The step before any body was seen: the first delivery tells how large they are.
constexpr uint64_t kFirstStep = 1;

// Deliveries the broker may send ahead of the visitor: `budget` bytes of bodies as large as
// the largest seen so far, within [1, kSyncWindow].
uint64_t WindowStep(size_t budget, size_t largest_body) {
  if (largest_body == 0) return kFirstStep;
  return std::clamp<uint64_t>(budget / largest_body, 1, kSyncWindow);
}

milliseconds Left(Clock::time_point deadline) {
  return std::max(milliseconds::zero(),
                  std::chrono::ceil<milliseconds>(deadline - Clock::now()));
}

// A 404 on the passive declare names a queue that is not there: say so in the caller's terms.
[[noreturn]] void ThrowNotFound(const ChannelClosed& error, const std::string& queue,
                                const BrokerSettings& settings) {
  throw QueueNotFound(fmt::format("amqp: queue '{}' does not exist in vhost '{}'",
                                  text::Printable(queue), text::Printable(settings.virtual_host)),
                      error.code, error.text, queue);
}

[[noreturn]] void ThrowInUse(const std::string& queue, const std::string& detail) {
  throw QueueInUse(fmt::format("amqp: another client is consuming queue '{}' (another paynotifyctl walk?); "
                               "try again when it has finished ({})",
                               text::Printable(queue), detail),
                   queue);
}

struct QueueCounts {
  uint32_t ready = 0;
  uint32_t consumers = 0;
};

// Both from one passive declare, so they describe the same moment.
QueueCounts Counts(Connection& connection, const std::string& queue, const BrokerSettings& settings) {
  try {
    const amqp_channel_t channel = connection.Channel();
    const amqp_queue_declare_ok_t* ok =
        amqp_queue_declare(connection.State(), channel, Bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    connection.CheckLastRpc(fmt::format("queue.declare passive '{}'", text::Printable(queue)));
    QueueCounts counts;
    if (ok != nullptr) counts = QueueCounts{ok->message_count, ok->consumer_count};
    amqp_maybe_release_buffers(connection.State());
    return counts;
  } catch (const ChannelClosed& error) {
    if (error.code == 404) ThrowNotFound(error, queue, settings);
    throw;
  }
}

uint32_t ReadyCount(Connection& connection, const std::string& queue, const BrokerSettings& settings) {
  try {
    return MessageCount(connection, queue);
  } catch (const ChannelClosed& error) {
    if (error.code == 404) ThrowNotFound(error, queue, settings);
    throw;
  }
}

// Closes channel 1 ourselves instead of through amqp_channel_close: that RPC would queue every
// delivery still in flight in rabbitmq-c's memory until close-ok arrives, and with a large
// prefetch that can be most of the queue. Here in-flight deliveries are read and dropped frame
// by frame. The broker handles a channel's methods in order, so close-ok proves that every
// basic.ack sent before it was applied (and that every kept delivery has been requeued).
// Returns true when close-ok arrived within `bound`.
bool CloseChannel(Connection& connection, milliseconds bound, std::string& why) {
  if (!connection.IsOpen()) {
    why = "the connection was lost";
    return false;
  }
  amqp_connection_state_t state = connection.State();
  amqp_channel_close_t close{};
  close.reply_code = AMQP_REPLY_SUCCESS;
  close.reply_text = amqp_cstring_bytes("queue browser done");
  if (amqp_send_method(state, Connection::kChannel, AMQP_CHANNEL_CLOSE_METHOD, &close) < 0) {
    connection.MarkBroken();
    why = "sending channel.close failed";
    return false;
  }
  const auto deadline = Clock::now() + bound;
  while (Clock::now() < deadline) {
    amqp_frame_t frame;
    struct timeval wait = ToTimeval(std::min(Left(deadline), connection.WaitSlice()));
    const int status = amqp_simple_wait_frame_noblock(state, &frame, &wait);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    if (status < 0) {
      connection.MarkBroken();
      why = "closing the channel: " + StatusText(status);
      return false;
    }
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      const amqp_method_number_t id = frame.payload.method.id;
      if (id == AMQP_CHANNEL_CLOSE_OK_METHOD && frame.channel == Connection::kChannel) {
        amqp_maybe_release_buffers(state);
        return true;
      }
      if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
        // The broker closed it first (e.g. an ack it refused): our acks are then in doubt.
        try {
          connection.OnServerClose(frame.payload.method, "closing the browsing channel");
        } catch (const AmqpError& error) {
          why = error.what();
        }
        connection.MarkBroken();
        return false;
      }
    }
    amqp_maybe_release_buffers(state);  // a delivery in flight, its content, a stray ack: dropped
  }
  connection.MarkBroken();
  why = fmt::format("no channel.close-ok within {} ms", bound.count());
  return false;
}

// Keeps the channel open for `duration`, reading (and dropping) whatever arrives, so the
// broker's side of the channel can finish sending our acks on (quorum queues). Deliveries past
// the walk are never acked: they go back when the channel closes. False when the connection
// broke or the broker closed the channel meanwhile.
bool Linger(Connection& connection, milliseconds duration, std::string& why) {
  amqp_connection_state_t state = connection.State();
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    amqp_frame_t frame;
    struct timeval wait = ToTimeval(std::min(Left(until), connection.WaitSlice()));
    const int status = amqp_simple_wait_frame_noblock(state, &frame, &wait);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    if (status < 0) {
      connection.MarkBroken();
      why = "waiting for the acks to go out: " + StatusText(status);
      return false;
    }
    if (frame.frame_type == AMQP_FRAME_METHOD &&
        (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD || frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
      try {
        connection.OnServerClose(frame.payload.method, "waiting for the acks to go out");
      } catch (const AmqpError& error) {
        why = error.what();
      }
      connection.MarkBroken();
      return false;
    }
    amqp_maybe_release_buffers(state);
  }
  return true;
}

}  // namespace

const char* ToString(WalkEnd end) {
  switch (end) {
    case WalkEnd::kAllSeen: return "all-seen";
    case WalkEnd::kDrained: return "drained";
    case WalkEnd::kStopped: return "stopped";
    case WalkEnd::kTimedOut: return "timed-out";
    case WalkEnd::kFailed: return "failed";
  }
  return "failed";
}

QueueBrowser::QueueBrowser(BrokerSettings settings, std::string queue, BrowseOptions options)
    : settings_(std::move(settings)), queue_(std::move(queue)), options_(options) {}

uint32_t QueueBrowser::Count() const {
  auto connection = Connection::Open(settings_);
  return ReadyCount(*connection, queue_, settings_);
}

WalkResult QueueBrowser::Walk(const Visitor& visit) const {
  auto logger = log::Get("amqp");
  auto connection = Connection::Open(settings_);
  WalkResult result;
  const QueueCounts counts = Counts(*connection, queue_, settings_);
  result.expected = counts.ready;
  if (result.expected == 0) {
    // Nothing ready, but a consumer (another walk) may hold every message unacked: then
    // "empty" would be a wrong answer. With messages ready, the exclusive consume below
    // refuses to share the queue instead.
    if (counts.consumers > 0) {
      ThrowInUse(queue_, fmt::format("no message ready, {} consumer(s) attached", counts.consumers));
    }
    return result;  // kAllSeen: nothing to walk, nothing consumed
  }

  const auto deadline = Clock::now() + options_.timeout;
  amqp_connection_state_t state = connection->State();
  const amqp_channel_t channel = connection->Channel();
  // The channel's (global) prefetch is a window: the messages kept so far plus a step, never
  // more than N. The step is kFirstStep until a body was seen, then budget / largest body
  // seen, within [1, kSyncWindow]: what the broker may send ahead is bounded in bytes as
  // long as messages are no larger than earlier ones (see the header). Kept messages stay
  // unacked, so the window grows as they do; each basic.qos that grows it is also a round
  // trip the channel answers only after the acks sent before it, so at most a window's worth
  // of settles is ever in doubt, and a connection the broker closed is noticed within a
  // window, not after everything it had already sent. While that RPC waits, rabbitmq-c
  // holds the deliveries in flight: at most one step. Past 65535 kept messages the limit is
  // lifted (0): rabbitmq-c then reads one frame at a time and TCP flow control bounds our
  // memory, but the in-doubt window is no longer bounded.
  uint32_t window = 0;  // the prefetch in force; 0 = no limit
  uint64_t kept = 0;
  uint64_t settled_since_sync = 0;
  size_t largest_body = 0;
  const auto step = [&] { return WindowStep(options_.window_budget_bytes, largest_body); };
  const auto set_window = [&](uint64_t wanted) {
    const uint64_t capped = std::min<uint64_t>(wanted, result.expected);
    window = capped <= kMaxPrefetch ? static_cast<uint32_t>(capped) : 0;
    amqp_basic_qos(state, channel, 0, static_cast<uint16_t>(window), 1);
    connection->CheckLastRpc(fmt::format("basic.qos prefetch={} global", window));
    settled_since_sync = 0;
  };
  if (options_.quorum_queue) {
    // Quorum queues refuse a channel-global prefetch (540 NOT_IMPLEMENTED): a fixed
    // per-consumer prefetch of N, no window (and no proof of acks, see the header).
    const uint16_t prefetch = result.expected <= kMaxPrefetch ? static_cast<uint16_t>(result.expected) : 0;
    amqp_basic_qos(state, channel, 0, prefetch, 0);
    connection->CheckLastRpc(fmt::format("basic.qos prefetch={}", prefetch));
  } else {
    set_window(step());
  }
  // exclusive=1: while we hold visited messages unacked, a second walk would not see them and
  // would report them absent; the broker refuses it instead (403), and we say why.
  amqp_basic_consume(state, channel, Bytes(queue_), amqp_empty_bytes, 0, 0, 1, amqp_empty_table);
  try {
    connection->CheckLastRpc(fmt::format("basic.consume '{}'", text::Printable(queue_)));
  } catch (const ChannelClosed& error) {
    if (error.code == 404) ThrowNotFound(error, queue_, settings_);  // deleted since the count
    if (error.code == 403 && error.text.find("exclusive") != std::string::npos) {
      ThrowInUse(queue_, fmt::format("broker: {} {}", error.code, text::Printable(error.text, 256)));
    }
    throw;
  } catch (const ConnectionClosed& error) {
    if (error.code == 540 && !options_.quorum_queue) {
      // A quorum queue the caller took for a classic one (it refuses the global prefetch):
      // nothing was delivered yet, so walk it again the quorum way.
      logger->info("browser: queue={} is a quorum queue; walking it as one", text::Printable(queue_));
      BrowseOptions quorum = options_;
      quorum.quorum_queue = true;
      return QueueBrowser(settings_, queue_, quorum).Walk(visit);
    }
    throw;
  }
  amqp_maybe_release_buffers(state);

  std::unique_ptr<Connection> control;  // opened only to ask whether the queue is drained
  std::exception_ptr visitor_error;
  // Quiet time counts from the end of the last visit: a slow visitor must not make the walk
  // think the broker has nothing more for it.
  auto last_delivery = Clock::now();
  int empty_checks = 0;
  try {
    while (result.visited < result.expected) {
      if (Clock::now() >= deadline) {
        result.end = WalkEnd::kTimedOut;
        result.error = fmt::format("walk of queue '{}' not finished within {} ms: {} of {} visited",
                                   text::Printable(queue_), options_.timeout.count(), result.visited,
                                   result.expected);
        break;
      }
      const auto quiet_left = std::max(milliseconds::zero(), std::chrono::ceil<milliseconds>(
                                                                 last_delivery + options_.quiet - Clock::now()));
      struct timeval wait = ToTimeval(std::min({Left(deadline), connection->WaitSlice(), quiet_left}));
      EnvelopeGuard envelope(state);
      const amqp_rpc_reply_t reply = amqp_consume_message(state, envelope.get(), &wait, 0);
      if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        envelope.MarkFilled();
        last_delivery = Clock::now();
        const uint64_t broker_tag = envelope.get()->delivery_tag;
        Verdict verdict = Verdict::kKeep;
        const size_t body_size = envelope.get()->message.body.len;
        largest_body = std::max(largest_body, body_size);
        bool out_of_memory = false;
        bool handed = false;
        try {
          const Delivery delivery = ToDelivery(*envelope.get(), broker_tag);  // copies the body
          handed = true;
          verdict = visit(delivery, result.visited);
        } catch (const std::bad_alloc&) {
          out_of_memory = true;
        } catch (...) {
          visitor_error = std::current_exception();
        }
        if (out_of_memory) {
          // Not the visitor's fault nor the broker's: end the walk, settle nothing more; what
          // was kept goes back when the channel closes.
          if (handed) ++result.visited;
          result.end = WalkEnd::kFailed;
          result.error = fmt::format("out of memory handling a delivery of {} bytes ({} of {} visited)", body_size,
                                     result.visited, result.expected);
          break;
        }
        ++result.visited;
        last_delivery = Clock::now();
        empty_checks = 0;
        if (visitor_error) {
          result.end = WalkEnd::kFailed;
          result.error = "the visitor threw";
          break;
        }
        if (verdict == Verdict::kSettle) {
          connection->CheckStatus(amqp_basic_ack(state, channel, broker_tag, 0), "basic.ack");
          ++result.settled;
          ++settled_since_sync;
        } else if (verdict == Verdict::kStop) {
          result.end = WalkEnd::kStopped;
          break;
        } else {
          ++kept;
        }
        // Room for the next deliveries (and proof of the acks so far), a window at a time.
        // With a step of 1 the window must grow as soon as the one message ahead was kept.
        const uint64_t ahead = step();
        const bool grow = kept + std::max<uint64_t>(ahead / 2, 1) > window && window < result.expected;
        const bool shrink = window > kept + ahead;  // a larger body than before: fewer ahead
        if (window != 0 && result.visited < result.expected &&
            (grow || shrink || settled_since_sync >= kSyncWindow)) {
          set_window(kept + ahead);
        }
        continue;
      }
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_TIMEOUT) {
        if (Clock::now() - last_delivery >= options_.quiet) {
          // Nothing came for a while: either others took the rest (then nothing is ready), or
          // the broker is slow (then wait on, up to the deadline). Messages the broker has
          // already sent us are not "ready" either, so one empty answer could be deliveries
          // still on their way: only two in a row, a quiet period apart, end the walk.
          if (!control) control = Connection::Open(settings_);
          if (ReadyCount(*control, queue_, settings_) == 0) {
            if (++empty_checks >= 2) {
              result.end = WalkEnd::kDrained;
              break;
            }
          } else {
            empty_checks = 0;
          }
          last_delivery = Clock::now();
        }
        continue;
      }
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // Something other than a delivery: read it as Consumer::HandleOtherFrame does.
        amqp_frame_t frame;
        struct timeval immediately = ToTimeval(milliseconds::zero());
        const int status = amqp_simple_wait_frame_noblock(state, &frame, &immediately);
        if (status == AMQP_STATUS_TIMEOUT) continue;
        connection->CheckStatus(status, "reading a frame while browsing");
        if (frame.frame_type == AMQP_FRAME_METHOD) {
          const amqp_method_number_t id = frame.payload.method.id;
          if (id == AMQP_BASIC_CANCEL_METHOD) {
            throw ConsumerCancelled(
                fmt::format("amqp: the broker cancelled the browser of queue '{}' (queue deleted?)",
                            text::Printable(queue_)),
                true);
          }
          if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
            connection->OnServerClose(frame.payload.method, "browsing queue '" + text::Printable(queue_) + "'");
          }
        }
        amqp_maybe_release_buffers(state);
        continue;
      }
      connection->Check(reply, fmt::format("browsing queue '{}'", text::Printable(queue_)));
    }
  } catch (const AmqpError& error) {
    connection->MarkBroken();
    result.end = WalkEnd::kFailed;
    result.error = error.what();
  } catch (const std::bad_alloc&) {
    // Anywhere else in the loop (a message text, the control connection): the same as above.
    // The connection itself is intact, so the channel is still closed properly below.
    result.end = WalkEnd::kFailed;
    result.error = "out of memory during the walk";
  }

  // After a connection failure there is no channel left to close: the broker requeues
  // everything unacked when it notices the connection gone.
  std::string why;
  bool lingered = true;
  if (options_.quorum_queue && result.settled > 0 && connection->IsOpen()) {
    lingered = Linger(*connection, options_.quorum_settle_grace, why);
  }
  const bool closed = lingered && connection->IsOpen() && CloseChannel(*connection, settings_.rpc_timeout, why);
  if (result.settled > 0 && options_.quorum_queue && closed) {
    result.settles_confirmed = false;
    if (result.error.empty()) {
      result.error = "quorum queue: the broker does not confirm acks (a settled message may come back)";
    }
  } else if (result.settled > 0 && !closed) {
    result.settles_confirmed = false;
    if (result.error.empty()) result.error = why;
    logger->warn("browser: {} settled deliveries of queue={} are in doubt ({}); a later walk may see them again",
                 result.settled, text::Printable(queue_), why.empty() ? result.error : why);
  }
  connection->Close();
  if (visitor_error) std::rethrow_exception(visitor_error);
  return result;
}

std::optional<FoundMessage> FindByMessageId(const BrokerSettings& settings, const std::string& queue,
                                            const std::string& message_id, BrowseOptions options,
                                            size_t max_body_bytes) {
  std::optional<FoundMessage> found;
  const QueueBrowser browser(settings, queue, options);
  const WalkResult result = browser.Walk([&](const Delivery& delivery, uint64_t position) {
    if (delivery.message_id != message_id) return Verdict::kKeep;
    FoundMessage match;
    // Every field but the body, then the body's first max_body_bytes: never a whole copy of
    // a body that may be as large as the broker allows.
    Delivery& copy = match.delivery;
    copy.redelivered = delivery.redelivered;
    copy.exchange = delivery.exchange;
    copy.routing_key = delivery.routing_key;
    copy.message_id = delivery.message_id;
    copy.content_type = delivery.content_type;
    copy.content_encoding = delivery.content_encoding;
    copy.type = delivery.type;
    copy.app_id = delivery.app_id;
    copy.timestamp_s = delivery.timestamp_s;
    copy.delivery_mode = delivery.delivery_mode;
    copy.headers = delivery.headers;
    match.body_size = delivery.body.size();
    match.body_truncated = delivery.body.size() > max_body_bytes;
    copy.body = delivery.body.substr(0, max_body_bytes);
    match.position = position;
    found = std::move(match);
    return Verdict::kStop;
  });
  if (found) return found;
  if (result.end == WalkEnd::kFailed || result.end == WalkEnd::kTimedOut) {
    throw AmqpError(fmt::format("amqp: search of queue '{}' did not finish ({}): {}", text::Printable(queue),
                                ToString(result.end), result.error),
                    result.end == WalkEnd::kTimedOut || result.end == WalkEnd::kFailed);
  }
  return std::nullopt;
}

}  // namespace paynotify::amqp

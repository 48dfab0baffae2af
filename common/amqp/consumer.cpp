#include "common/amqp/consumer.hpp"

#include <algorithm>

#include <pthread.h>

#include <amqp_framing.h>

#include <fmt/format.h>

#include "common/amqp/envelope.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/table.hpp"
#include "common/log/log.hpp"

namespace paynotify::amqp {
namespace {

// rabbitmq-c decodes a header table recursively, and a 128 KiB frame holds a table nested
// about 18,000 levels deep: that takes 1-2 MiB of stack (measured: a 1 MiB thread stack
// crashes, 2 MiB does not). Threads get RLIMIT_STACK (8 MiB by default); say so loudly when
// the consuming thread has less, because then any publisher can crash the process.
constexpr size_t kRecommendedStack = 4 * 1024 * 1024;

void WarnIfStackIsSmall(const std::string& queue) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  size_t stack = 0;
  const bool known = pthread_attr_getstacksize(&attr, &stack) == 0;
  pthread_attr_destroy(&attr);
  if (known && stack < kRecommendedStack) {
    log::Get("amqp")->warn(
        "consumer: queue={} is consumed on a thread with {} KiB of stack; a message with deeply nested "
        "headers needs up to 2 MiB in rabbitmq-c's decoder and would crash the process; raise the stack "
        "limit (ulimit -s) to at least {} KiB",
        queue, stack / 1024, kRecommendedStack / 1024);
  }
}

}  // namespace

Consumer::Consumer(BrokerSettings settings, std::string queue, uint16_t prefetch)
    : settings_(std::move(settings)), queue_(std::move(queue)), prefetch_(prefetch) {}

Consumer::~Consumer() { Close(); }

bool Consumer::IsConnected() const { return connection_ && connection_->IsOpen(); }

void Consumer::Close() { connection_.reset(); }

void Consumer::Drop(bool graceful) {
  if (connection_ && !graceful) connection_->MarkBroken();
  connection_.reset();
}

void Consumer::Connect() {
  if (IsConnected()) return;
  connection_.reset();
  auto connection = Connection::Open(settings_, &rotation_);
  const amqp_channel_t channel = connection->Channel();
  amqp_basic_qos(connection->State(), channel, 0, prefetch_, 0);
  connection->CheckLastRpc(fmt::format("basic.qos prefetch={}", prefetch_));
  amqp_basic_consume(connection->State(), channel, Bytes(queue_), amqp_empty_bytes, 0, 0, 0,
                     amqp_empty_table);
  connection->CheckLastRpc(fmt::format("basic.consume '{}'", queue_));
  amqp_maybe_release_buffers(connection->State());
  connection_ = std::move(connection);
  if (generation_ == 0) WarnIfStackIsSmall(queue_);  // once per Consumer
  // 16 bits of generation; wrapping after 65536 reconnects is harmless in practice.
  generation_ = (generation_ + 1) & 0xFFFF;
  log::Get("amqp")->info("consumer: consuming queue={} prefetch={}", queue_, prefetch_);
}

// amqp_consume_message saw something other than basic.deliver and put it back: read it
// and act as rabbitmq-c's examples/amqp_consumer.c does (minus its exit()).
void Consumer::HandleOtherFrame() {
  amqp_connection_state_t state = connection_->State();
  amqp_frame_t frame;
  struct timeval immediately = ToTimeval(std::chrono::milliseconds::zero());
  const int status = amqp_simple_wait_frame_noblock(state, &frame, &immediately);
  if (status == AMQP_STATUS_TIMEOUT) return;
  connection_->CheckStatus(status, fmt::format("reading a frame on queue '{}'", queue_));
  if (frame.frame_type != AMQP_FRAME_METHOD) {
    amqp_maybe_release_buffers(state);
    return;  // stray content frames: nothing to do
  }
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD:
      break;  // only relevant to confirm-mode publishers
    case AMQP_BASIC_RETURN_METHOD: {
      // A returned message's content follows; read and discard it to stay in sync.
      amqp_message_t message;
      connection_->Check(amqp_read_message(state, frame.channel, &message, 0),
                         "reading a returned message");
      amqp_destroy_message(&message);
      break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
      throw ConsumerCancelled(
          fmt::format("amqp: the broker cancelled the consumer of queue '{}' (queue deleted?)",
                      queue_),
          true);
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
      connection_->OnServerClose(frame.payload.method,
                                 fmt::format("consuming queue '{}'", queue_));
    default:
      break;
  }
  amqp_maybe_release_buffers(state);
}

std::optional<Delivery> Consumer::Next(std::chrono::milliseconds timeout) {
  Connect();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      // Wake at least every heartbeat/2 so heartbeats keep flowing on a quiet queue; a
      // timeout of zero still polls once, so a delivery already buffered is returned.
      struct timeval wait = ToTimeval(std::min(std::max(left, std::chrono::milliseconds::zero()),
                                               connection_->WaitSlice()));
      amqp_connection_state_t state = connection_->State();
      amqp_maybe_release_buffers(state);
      EnvelopeGuard envelope(state);
      const amqp_rpc_reply_t reply = amqp_consume_message(state, envelope.get(), &wait, 0);
      if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        envelope.MarkFilled();
        return ToDelivery(*envelope.get(), (generation_ << kGenerationShift) | envelope.get()->delivery_tag);
      }
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        HandleOtherFrame();
        continue;
      }
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_TIMEOUT) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        continue;
      }
      connection_->Check(reply, fmt::format("consuming queue '{}'", queue_));
    }
  } catch (const AmqpError&) {
    Drop(true);
    throw;
  }
}

std::optional<uint64_t> Consumer::BrokerTag(uint64_t delivery_tag) const {
  if (!IsConnected() || (delivery_tag >> kGenerationShift) != generation_) return std::nullopt;
  return delivery_tag & ((uint64_t{1} << kGenerationShift) - 1);
}

void Consumer::Ack(uint64_t delivery_tag, bool multiple) {
  const auto tag = BrokerTag(delivery_tag);
  if (!tag) {
    log::Get("amqp")->debug("consumer: ack of tag {} from a lost connection ignored (the broker "
                            "requeued it)",
                            delivery_tag);
    return;
  }
  try {
    connection_->CheckStatus(
        amqp_basic_ack(connection_->State(), Connection::kChannel, *tag, multiple ? 1 : 0),
        "basic.ack");
  } catch (const AmqpError&) {
    Drop(false);
    throw;
  }
}

void Consumer::Nack(uint64_t delivery_tag, bool requeue, bool multiple) {
  const auto tag = BrokerTag(delivery_tag);
  if (!tag) {
    log::Get("amqp")->debug("consumer: nack of tag {} from a lost connection ignored (the "
                            "broker requeued it)",
                            delivery_tag);
    return;
  }
  try {
    connection_->CheckStatus(amqp_basic_nack(connection_->State(), Connection::kChannel, *tag,
                                             multiple ? 1 : 0, requeue ? 1 : 0),
                             "basic.nack");
  } catch (const AmqpError&) {
    Drop(false);
    throw;
  }
}

}  // namespace paynotify::amqp

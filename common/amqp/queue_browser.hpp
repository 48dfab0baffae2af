#pragma once
/// A non-destructive walk over the messages of one queue: the basis for listing, replaying or
/// discarding what sits in a parking (dead-letter) queue without losing or reordering anything.
///
/// How: the queue's ready-message count N is read (passive queue.declare) when the walk starts;
/// then the queue is consumed on the browser's own connection with manual acks and a
/// channel-wide prefetch that grows as messages are kept (kept + a step of at most 256 sized by
/// bytes, see "Memory" below; at most N; unlimited past 65535 kept), and the first N deliveries
/// are handed to a visitor, one at a time. Each growth (and every 256 settles) is a basic.qos
/// round trip, which the broker answers only after the
/// acks sent before it. The visitor answers per message:
///   kKeep   - leave it in the queue (no ack is ever sent for it);
///   kSettle - the caller has acted on it (e.g. a copy was confirmed elsewhere): basic.ack;
///   kStop   - keep it and end the walk now (e.g. the message looked for was found).
/// At the end the channel is closed; the broker then puts every kept delivery back. Not
/// basic.get + requeue (which redelivers each message to the head or tail as it goes, and
/// returns them to other consumers in between): nothing kept is ever settled or republished.
///
/// Guarantees (RabbitMQ 3.10 classic queues; tests/integration/amqp/queue_browser_test.cpp):
/// - Nothing is removed from the queue but the deliveries the visitor answered kSettle. A
///   walk that fails half way (connection lost, broker closed the channel, deadline) removes
///   at most those; everything else is returned by the broker when our channel goes.
/// - Kept messages return to their original positions, so a later walk sees the same messages
///   in the same order (interleaved with nothing: messages published during a walk stay
///   behind the ones that were there). They come back with redelivered=true.
/// - Each of the first N messages is visited at most once per walk. Messages published after
///   the count are not part of the walk (a delivery past the N-th is not visited and goes back).
/// - Memory is bounded by the window, not by the queue: one delivery at a time is handed out
///   (the visitor copies what it needs, bounded), nothing per kept message is retained, and
///   at most one window step of deliveries is buffered (during a basic.qos round trip, or in
///   rabbitmq-c/TCP ahead of the visitor). The step is byte-aware: it starts at 1 and is then
///   `window_budget_bytes / largest body seen so far`, clamped to [1, 256]. So what is bounded
///   is step x largest message: about the budget (64 MiB by default) while messages are no
///   larger than the ones already seen; a message larger than all before it can exceed it, up
///   to 256 x the broker's max_message_size in the worst case (a queue of small messages
///   followed by maximal ones). Past 65535 kept messages the prefetch is lifted and TCP flow
///   control bounds what is read. Running out of memory (std::bad_alloc while copying a
///   delivery or in the visitor) ends the walk as kFailed; nothing more is settled.
/// - The walk ends within `BrowseOptions::timeout` (+ one rpc_timeout to close the channel):
///   a stuck broker cannot hang the caller.
///
/// Limits (say them to operators):
/// - One walk (one consumer) per queue at a time: the walk consumes with exclusive=1, because
///   while it runs the visited messages are unacked on our channel and another walk would not
///   see them (and report them absent). A walk started while any other client consumes the
///   queue (another walk, a service) fails at start with QueueInUse (the broker's 403), and
///   while a walk runs nobody else can start consuming the queue. An empty queue with a
///   consumer attached is QueueInUse too (what that consumer holds cannot be seen). (Nobody consumes a parking
///   queue normally.)
/// - Messages others take without consuming (basic.get) are not ready, so they are neither
///   counted nor visited; the walk may then see fewer than N messages and ends when the queue
///   has no ready message left after a quiet period (kDrained).
/// - A settle is a basic.ack, and AMQP does not acknowledge acks: when the connection is lost
///   right after one, the broker may or may not have removed the message. The result's
///   `settles_confirmed` says whether the broker confirmed them (our channel.close was
///   answered after them). A message whose settle was not confirmed may be visited again by a
///   later walk: settling actions must be idempotent (replay: the consumer's inbox absorbs the
///   duplicate). The window is wider than one ack: when the broker closes the connection, the
///   deliveries it had already sent (at most the prefetch window ahead) are still read and
///   visited before the close is seen, and their acks are lost: measured in a replay of 8,000
///   whose connection was closed mid-way, 165-185 ended in both queues (with a fixed prefetch
///   of N it had been 1,400-2,500). Nothing is lost; those actions are repeated by the next
///   walk.
///
/// - Quorum queues: RabbitMQ 3.10's quorum-queue client holds acks back while it has more
///   than a few dozen commands in flight and DROPS what it still holds when the channel
///   closes, so a settled message can come back (measured: 65 of 100 settles in a burst).
///   With `BrowseOptions::quorum_queue` the walk lingers `quorum_settle_grace` after its last
///   settle before closing (in practice enough for the client to send them all), and never
///   reports the settles as confirmed: that is timing, not proof. Kept messages are returned
///   (none lost), but not necessarily in their original order.
///
/// Threading: one thread; the browser owns its connection(s) for the length of Walk.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/amqp/errors.hpp"
#include "common/amqp/message.hpp"
#include "common/amqp/settings.hpp"

namespace paynotify::amqp {

/// The queue to browse does not exist (the broker's 404 on the passive declare). Not
/// retryable: the name or the vhost is wrong, or the owning service never declared it.
struct QueueNotFound : ChannelClosed {
  QueueNotFound(const std::string& what, uint16_t code_, std::string text_, std::string queue_)
      : ChannelClosed(what, false, code_, std::move(text_)), queue(std::move(queue_)) {}
  std::string queue;
};

/// Another client already consumes the queue, most likely another walk: the broker refused
/// our exclusive basic.consume (403 ACCESS_REFUSED), or no message was ready while a
/// consumer was attached (the messages it holds cannot be seen, so "empty" would be wrong).
/// Nothing was visited. Retryable: try again when the other walk has finished.
struct QueueInUse : AmqpError {
  QueueInUse(const std::string& what, std::string queue_) : AmqpError(what, true), queue(std::move(queue_)) {}
  std::string queue;
};

/// Default for BrowseOptions::window_budget_bytes: what one prefetch window step may hold,
/// judged by the largest body seen so far (see "Memory" above).
inline constexpr size_t kDefaultWindowBudgetBytes = size_t{64} * 1024 * 1024;

struct BrowseOptions {
  /// Bounds the whole walk (connect excluded); then it ends with kTimedOut.
  std::chrono::milliseconds timeout{30000};
  /// No delivery for this long: ask the broker whether ready messages remain; none -> kDrained.
  std::chrono::milliseconds quiet{500};
  /// The queue is a quorum queue (see the limits above). A quorum queue walked without it is
  /// noticed (it refuses the channel-wide prefetch) and walked again as one.
  bool quorum_queue = false;
  /// Quorum queues: how long the channel stays open after the last settle.
  std::chrono::milliseconds quorum_settle_grace{2000};
  /// Bytes one window step may buffer: step = clamp(this / largest body seen, 1, 256).
  size_t window_budget_bytes = kDefaultWindowBudgetBytes;
};

/// What the visitor wants done with one delivery.
enum class Verdict { kKeep, kSettle, kStop };

/// How a walk ended.
enum class WalkEnd {
  kAllSeen,   ///< every one of the first N messages was visited (N may be 0)
  kDrained,   ///< fewer were visited, and the queue has no ready message left (others took some)
  kStopped,   ///< the visitor answered kStop
  kTimedOut,  ///< BrowseOptions::timeout expired first
  kFailed,    ///< connection or channel lost, consumer cancelled (queue deleted): see `error`
};

/// "all-seen", "drained", "stopped", "timed-out", "failed".
const char* ToString(WalkEnd end);

struct WalkResult {
  uint32_t expected = 0;   ///< N: ready messages when the walk started
  uint64_t visited = 0;    ///< deliveries handed to the visitor
  uint64_t settled = 0;    ///< of them answered kSettle (basic.ack sent)
  WalkEnd end = WalkEnd::kAllSeen;
  /// The broker answered our channel.close after every settle: those messages are gone for
  /// sure. False when a settle was sent and the channel was lost before that answer (the
  /// settles are then in doubt), and for a quorum queue after any settle (see above). True
  /// when nothing was settled.
  bool settles_confirmed = true;
  std::string error;  ///< kFailed / kTimedOut, or why the close was not confirmed
};

/// Called once per visited delivery, in queue order; `position` counts from 0. The delivery
/// (body included) is valid only during the call. May throw: the walk then ends as if it had
/// failed (nothing more is settled, kept ones go back) and the exception is rethrown, except
/// std::bad_alloc, which ends the walk as kFailed ("out of memory") like a failed copy.
using Visitor = std::function<Verdict(const Delivery& delivery, uint64_t position)>;

class QueueBrowser {
 public:
  QueueBrowser(BrokerSettings settings, std::string queue, BrowseOptions options = {});

  /// Ready messages now (a passive declare on a short-lived connection). Throws QueueNotFound,
  /// AmqpError.
  uint32_t Count() const;

  /// Walks the queue as described above. Throws QueueNotFound, QueueInUse or AmqpError when the walk
  /// cannot start (nothing was visited then); once it has started, failures end the walk and
  /// are reported in the result instead (kFailed), so the caller can tell what it settled.
  WalkResult Walk(const Visitor& visit) const;

 private:
  BrokerSettings settings_;
  std::string queue_;
  BrowseOptions options_;
};

/// One message found by FindByMessageId: a copy of the delivery with the body cut to
/// `max_body_bytes` (body_size is the full length).
struct FoundMessage {
  Delivery delivery;
  size_t body_size = 0;
  bool body_truncated = false;
  uint64_t position = 0;  ///< 0-based position in the queue when it was found
};

/// The first message in `queue` whose message_id property equals `message_id` (nothing is
/// settled: a walk that stops at the match). nullopt when no visited message matches; throws
/// QueueNotFound / AmqpError like Walk, and AmqpError when the walk failed or timed out before
/// the whole queue was seen (an unfinished search is not "absent").
std::optional<FoundMessage> FindByMessageId(const BrokerSettings& settings, const std::string& queue,
                                            const std::string& message_id, BrowseOptions options = {},
                                            size_t max_body_bytes = 1024 * 1024);

}  // namespace paynotify::amqp

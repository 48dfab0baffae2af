#pragma once
/// The `paynotifyctl dlq` operations against the broker, each one walk of the parking queue
/// with amqp::QueueBrowser (see its header for what "non-destructive" guarantees and its
/// limits). The command layer (dlq_commands) renders these reports; tests call them directly.
///
///  - List / Count / Show settle nothing: the parking queue is afterwards what it was (same
///    messages, same order).
///  - Replay settles (acks) a parked message only after its replay copy was CONFIRMED by the
///    broker into the main queue; a nack, return or timeout leaves the parked copy where it is
///    and counts the message as failed. If the ack itself is lost (connection dropped right
///    after it), the parked copy stays and a later replay sends it again: the consumer's inbox
///    (message_id) absorbs that duplicate, so replaying twice is harmless.
///  - Discard writes each message's id and escaped body to `log` (and flushes) BEFORE acking it.
///  - A quorum parking queue (DlqTarget::browse.quorum_queue) gives weaker guarantees: see
///    QueueBrowser's limits (acks may be dropped at channel close, order not kept).
///
/// Each call opens its own connections and closes them; one thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/amqp/queue_browser.hpp"
#include "common/amqp/settings.hpp"
#include "paynotifyctl/dlq/dead_letter.hpp"

namespace paynotify::ctl::dlq {

/// Where the parked messages are and where they go back to (learning-service's config:
/// consumer.queue, consumer.dead-letter-queue, consumer.confirm-timeout).
struct DlqTarget {
  /// Its connection_name prefixes ours ("<name>-dlq-walk", "-replay", ...; "paynotifyctl" if empty).
  amqp::BrokerSettings broker;
  std::string queue;              ///< the main queue a replay publishes to
  std::string dead_letter_queue;  ///< the parking queue
  amqp::BrowseOptions browse{};
  std::chrono::milliseconds confirm_timeout{5000};
};

/// Most per-message entries a replay/discard report lists (its counts are always exact).
inline constexpr size_t kMaxReportedItems = 1000;
/// Most bytes of a body `discard` logs (escaped), and of one `show` keeps.
inline constexpr size_t kMaxLoggedBody = 64 * 1024;
inline constexpr size_t kMaxShownBody = 1024 * 1024;

struct ListReport {
  std::vector<DeadLetterSummary> messages;  ///< at most `limit`, in queue order
  bool more = false;                        ///< more matching messages follow (walk stopped at the limit)
  amqp::WalkResult walk;                    ///< walk.expected = the queue's depth
};
/// The first `limit` parked messages (with `reason` when given). Throws amqp::QueueNotFound,
/// amqp::AmqpError (cannot connect).
ListReport List(const DlqTarget& target, const std::optional<std::string>& reason, size_t limit);

struct StatsReport {
  ReasonCounts reasons;
  amqp::WalkResult walk;
};
/// Parked messages per reason. Throws like List.
StatsReport Stats(const DlqTarget& target);

struct ShowReport {
  amqp::FoundMessage found;  ///< body cut to kMaxShownBody
  DeadLetterSummary summary;
};
/// The first parked message with this message_id, or nullopt. Throws like List, and
/// amqp::AmqpError when the search did not finish (timeout, connection lost).
std::optional<ShowReport> Show(const DlqTarget& target, const std::string& message_id);

/// One selected message in a replay or discard report.
struct ItemReport {
  uint64_t position = 0;
  std::optional<std::string> message_id;
  std::optional<std::string> reason;
  /// replayed | would-replay | failed | discarded | would-discard (never written by discard:
  /// it refuses without --yes before walking)
  std::string outcome;
  std::string error;     ///< failed: nacked / returned / unknown (timeout, connection) and why
  int64_t replayed = 0;  ///< replay: the x-paynotify-replayed the copy carries
};

struct ActionReport {
  uint64_t selected = 0;  ///< parked messages the selection matched (each copy counts)
  uint64_t done = 0;      ///< replayed (confirmed, dead-letter copy acked) or discarded
  uint64_t failed = 0;    ///< replay copy not confirmed: the parked copy stays
  std::vector<ItemReport> items;  ///< at most kMaxReportedItems
  bool items_truncated = false;
  std::vector<std::string> not_found;  ///< named message_ids with no parked copy (sorted)
  /// The walk ended early because the replay publisher could not connect (why).
  std::string aborted;
  amqp::WalkResult walk;
};

/// Replays the selected messages (see MakeReplay for what is sent). With `dry_run` nothing is
/// published or settled; outcome would-replay. Throws like List.
ActionReport Replay(const DlqTarget& target, const Selection& selection, bool dry_run);

/// Removes the selected messages, each logged to `log` first. Throws like List.
ActionReport Discard(const DlqTarget& target, const Selection& selection, std::ostream& log);

}  // namespace paynotify::ctl::dlq

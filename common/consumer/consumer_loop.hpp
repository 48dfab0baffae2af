#pragma once
/// The consumer loop: takes deliveries from a DeliverySource, asks a DeliveryHandler what to
/// do, and settles each one. A mechanism for any subscriber service: it knows queues,
/// copies and acks, never what a message means (that is the handler's policy). Core code:
/// ports only, no rabbitmq-c.
///
/// Batching: the loop takes the deliveries the broker has already sent (up to batch_size,
/// never waiting for more), has the handler decide them together (one transaction) and acks
/// them with one multiple ack. Under load batches fill while the previous one commits, so
/// one fsync serves many messages; at a trickle a batch is one message and adds no latency.
/// A batch the handler could not decide as a whole is handled again one delivery at a time.
///
/// At-least-once contract: a delivery is acked only after (a) the handler decided kAck, or
/// (b) its retry / dead-letter copy was CONFIRMED by the broker. A dead-letter copy that is
/// not confirmed (nacked, returned, unknown) is followed by a minimal one (body, message_id,
/// reason: nothing the message could make unpublishable); if that or a retry copy is not
/// confirmed either, the original is requeued after the settle back-off (the broker is
/// refusing: nothing the message can cause). If the process dies anywhere, the broker
/// redelivers the unacked original. The handler must absorb every resulting duplicate
/// (idempotency). Nothing is ever dropped.
///
/// Failures: a DeliverySource that throws means the broker connection is lost; the loop logs
/// it once, backs off and reconnects (the broker redelivers what was unacked). Anything else
/// that escapes (a handler bug, out of memory) is logged as such, and the loop drops the
/// connection itself so that no delivery it was holding stays unsettled, then backs off.
/// Both are counted (<prefix>_loop_errors_total{kind}).
///
/// Hostile messages: copies carry only our own headers (see topology_plan.hpp), so no
/// message can hold the thread in a requeue loop; an oversized body ends its batch (memory:
/// at most batch_size - 1 bodies within the limit plus one over it); every value from a
/// message is logged through text::Printable.
///
/// Waiting (back-off, pause, settle back-off) goes through Clock::SleepFor, so tests run it
/// on a ManualClock without real sleeps.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/amqp/message.hpp"
#include "common/consumer/consumer_metrics.hpp"
#include "common/consumer/delivery_handler.hpp"
#include "common/consumer/disposition.hpp"
#include "common/consumer/ports.hpp"
#include "common/consumer/topology_plan.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/clock.hpp"

namespace paynotify::consumer {

struct ConsumerLoopSettings {
  std::chrono::milliseconds poll{500};  ///< Next() timeout: how quickly a stop is noticed
  runtime::BackoffPolicy reconnect;     ///< after a lost broker connection / unconfirmed copy
  size_t batch_size = 1;                ///< most deliveries per batch (<= the prefetch)
};

/// Thrown by Process/ProcessBatch when the DeliverySource failed: the broker connection is
/// lost (its unacked deliveries return to the queue).
class SourceFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConsumerLoop {
 public:
  /// All references must outlive the loop. The loop is used from one thread (Run's), except
  /// Ready/BrokerConnected/Paused.
  ConsumerLoop(DeliverySource& source, CopyPublisher& publisher, DeliveryHandler& handler,
               ConsumerTopology topology, ConsumerMetrics& metrics, const runtime::Clock& clock,
               ConsumerLoopSettings settings);

  /// Consumes until `stop` is requested. A stop lets the in-flight batch finish and be
  /// settled (a delivery held by a pause is requeued instead). Never throws.
  void Run(std::stop_token stop);

  /// Decides and settles one delivery (exposed for tests). Throws SourceFailure when the
  /// source fails; lets a handler's exception through.
  void Process(const amqp::Delivery& delivery, std::stop_token stop);
  /// Decides and settles deliveries taken together, as a batch when the handler manages it,
  /// else one by one (exposed for tests). Throws like Process.
  void ProcessBatch(std::span<const amqp::Delivery> batch, std::stop_token stop);

  /// True while the broker connection works and the loop is not paused. Thread-safe.
  bool Ready() const { return connected_.load() && !paused_.load(); }
  bool BrokerConnected() const { return connected_.load(); }
  /// True while a handler's kPause holds a delivery (e.g. its database is down). Thread-safe.
  bool Paused() const { return paused_.load(); }

 private:
  /// Carries out `d` for `delivery`: ack, retry copy or dead-letter copy.
  void Settle(const amqp::Delivery& delivery, const Disposition& d, std::stop_token stop);
  /// True if the broker confirmed `copy`; else false with `why`. Never throws.
  bool TryPublish(const amqp::OutgoingMessage& copy, std::string& why);
  /// Publishes `copy`; acks on confirm, requeues otherwise. Returns true if acked.
  bool PublishThenAck(const amqp::Delivery& delivery, const amqp::OutgoingMessage& copy, std::string_view action,
                      std::stop_token stop);
  /// Parks the delivery: its dead-letter copy, or if that is not confirmed its minimal copy;
  /// acks once one is confirmed, requeues if neither is. Returns true if acked.
  bool ParkThenAck(const amqp::Delivery& delivery, const Disposition& d, std::stop_token stop);
  /// Counts, requeues and backs off (settle back-off) after a copy was not confirmed.
  void RequeueAfterFailure(const amqp::Delivery& delivery, const amqp::OutgoingMessage& copy,
                           std::string_view action, const std::string& why, std::stop_token stop);
  /// The `reason` label: `reason` if the handler or the loop declared it, else "other".
  std::string_view ReasonLabel(std::string_view reason) const;
  // The source's calls, each turning any failure into SourceFailure (see Run).
  void Ack(uint64_t tag);
  void AckThrough(uint64_t tag);
  void Requeue(uint64_t tag);

  DeliverySource& source_;
  CopyPublisher& publisher_;
  DeliveryHandler& handler_;
  ConsumerTopology topology_;
  ConsumerMetrics& metrics_;
  const runtime::Clock& clock_;
  ConsumerLoopSettings settings_;
  runtime::Backoff settle_backoff_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> paused_{false};
};

}  // namespace paynotify::consumer

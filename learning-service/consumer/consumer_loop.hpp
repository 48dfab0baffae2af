#pragma once
/// The consumer loop: takes deliveries from a DeliverySource, asks the EnrollmentHandler what
/// to do, and settles each one. Core code: ports only, no rabbitmq-c.
///
/// Batching: the loop takes the deliveries the broker has already sent (up to batch_size,
/// never waiting for more), applies them in one transaction and acks them with one multiple
/// ack after the commit. Under load batches fill while the previous one commits, so one
/// fsync serves many messages; at a trickle a batch is one message and adds no latency. A
/// batch whose transaction fails is handled again one delivery at a time.
///
/// At-least-once contract: a delivery is acked only after (a) it was applied, found a
/// duplicate or ignored, or (b) its retry / dead-letter copy was CONFIRMED by the broker.
/// A dead-letter copy that is not confirmed (nacked, returned, unknown) is followed by a
/// minimal one (body, message_id, reason: nothing the message could make unpublishable);
/// if that or a retry copy is not confirmed either, the original is requeued after the
/// settle back-off (the broker is refusing: nothing the message can cause). If the process
/// dies anywhere, the broker redelivers the unacked original. The dedup key absorbs every
/// resulting duplicate apply. Nothing is ever dropped.
///
/// Hostile messages: copies carry only our own headers (see topology_plan.hpp), so no
/// message can hold the thread in a requeue loop; an oversized body ends its batch (memory:
/// at most batch_size - 1 bodies within the limit plus one over it); every value from a
/// message is logged through text::Printable.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <vector>

#include "common/runtime/backoff.hpp"
#include "common/runtime/clock.hpp"
#include "learning-service/consumer/consumer_metrics.hpp"
#include "learning-service/consumer/delivery.hpp"
#include "learning-service/consumer/topology_plan.hpp"
#include "learning-service/enrollment/enrollment_handler.hpp"

namespace paynotify::learning {

/// Port: where deliveries come from and are settled. Used from one thread only.
class DeliverySource {
 public:
  virtual ~DeliverySource() = default;
  /// Next delivery, or nullopt after `timeout` without one. Connects if not connected.
  /// Throws (any std::exception) when the connection is lost or cannot be opened; the next
  /// call reconnects. Unacked deliveries of a lost connection are redelivered by the broker.
  virtual std::optional<Delivery> Next(std::chrono::milliseconds timeout) = 0;
  /// Positive ack. Throws on a lost connection (the broker then redelivers).
  virtual void Ack(uint64_t delivery_tag) = 0;
  /// Positive ack of every unsettled delivery up to and including `delivery_tag` (AMQP
  /// multiple=true). Throws on a lost connection.
  virtual void AckThrough(uint64_t delivery_tag) = 0;
  /// Negative ack with requeue=true: the broker delivers it again. Throws on a lost connection.
  virtual void Requeue(uint64_t delivery_tag) = 0;
};

/// Port: publishes a copy through the default exchange and waits for the broker's confirm.
class CopyPublisher {
 public:
  virtual ~CopyPublisher() = default;
  /// True only if the broker confirmed the (persistent, mandatory) copy; false if it was
  /// nacked, returned or the outcome is unknown. May throw if no connection can be opened;
  /// the loop treats that like false.
  virtual bool PublishConfirmed(const OutgoingCopy& copy) = 0;
  /// Called by the loop between deliveries (at least every poll interval): keep an idle
  /// connection alive (heartbeats). Never throws.
  virtual void Maintain() {}
};

struct ConsumerLoopSettings {
  std::chrono::milliseconds poll{500};  ///< Next() timeout: how quickly a stop is noticed
  runtime::BackoffPolicy reconnect;     ///< after a lost broker connection / unconfirmed copy
  size_t batch_size = 1;                ///< most deliveries per transaction (<= the prefetch)
};

class ConsumerLoop {
 public:
  ConsumerLoop(DeliverySource& source, CopyPublisher& publisher, EnrollmentHandler& handler,
               ConsumerTopology topology, ConsumerMetrics& metrics, const runtime::Clock& clock,
               ConsumerLoopSettings settings);

  /// Consumes until `stop` is requested. A stop lets the in-flight delivery finish and be
  /// settled (a delivery held because the database is down is requeued instead). Never
  /// throws: broker failures are logged once, backed off and reconnected.
  void Run(std::stop_token stop);

  /// Handles and settles one delivery (exposed for tests). Throws what the source throws.
  void Process(const Delivery& delivery, std::stop_token stop);
  /// Handles and settles deliveries taken together, in one transaction when it succeeds,
  /// else one by one (exposed for tests). Throws what the source throws.
  void ProcessBatch(std::span<const Delivery> batch, std::stop_token stop);

  /// True while the broker connection works and the database is not known to be down.
  /// Thread-safe (for /readyz).
  bool Ready() const { return connected_.load() && !paused_.load(); }
  bool BrokerConnected() const { return connected_.load(); }
  bool DatabasePaused() const { return paused_.load(); }

 private:
  /// Carries out a retry or dead-letter disposition, or acks (kAck).
  void Settle(const Delivery& delivery, const HandleResult& result, std::stop_token stop);
  /// True if the broker confirmed `copy`; else false with `why`. Never throws.
  bool TryPublish(const OutgoingCopy& copy, std::string& why);
  /// Publishes `copy`; acks on confirm, requeues otherwise. Returns true if acked.
  bool PublishThenAck(const Delivery& delivery, const OutgoingCopy& copy, std::string_view action,
                      std::stop_token stop);
  /// Parks the delivery: its dead-letter copy, or if that is not confirmed its minimal copy;
  /// acks once one is confirmed, requeues if neither is. Returns true if acked.
  bool ParkThenAck(const Delivery& delivery, const HandleResult& result, std::stop_token stop);
  /// Counts, requeues and backs off (settle back-off) after a copy was not confirmed.
  void RequeueAfterFailure(const Delivery& delivery, const OutgoingCopy& copy, std::string_view action,
                           const std::string& why, std::stop_token stop);

  DeliverySource& source_;
  CopyPublisher& publisher_;
  EnrollmentHandler& handler_;
  ConsumerTopology topology_;
  ConsumerMetrics& metrics_;
  const runtime::Clock& clock_;
  ConsumerLoopSettings settings_;
  runtime::Backoff settle_backoff_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> paused_{false};
};

}  // namespace paynotify::learning

#pragma once
// Received envelopes as Delivery values, used inside common/amqp only (Consumer, QueueBrowser).

#include <cstdint>

#include <amqp.h>

#include "common/amqp/message.hpp"

namespace paynotify::amqp {

/// Owns one envelope filled by amqp_consume_message: frees it and then lets rabbitmq-c
/// recycle its frame buffers, on every path.
class EnvelopeGuard {
 public:
  explicit EnvelopeGuard(amqp_connection_state_t state) : state_(state) { envelope_ = {}; }
  ~EnvelopeGuard() {
    if (filled_) amqp_destroy_envelope(&envelope_);
    amqp_maybe_release_buffers(state_);
  }
  EnvelopeGuard(const EnvelopeGuard&) = delete;
  EnvelopeGuard& operator=(const EnvelopeGuard&) = delete;

  amqp_envelope_t* get() { return &envelope_; }
  void MarkFilled() { filled_ = true; }

 private:
  amqp_connection_state_t state_;
  amqp_envelope_t envelope_;
  bool filled_ = false;
};

/// A copy of everything the envelope carries (absent properties nullopt, headers converted by
/// FromTable), with `delivery_tag` as given (callers encode their own tag scheme).
Delivery ToDelivery(const amqp_envelope_t& envelope, uint64_t delivery_tag);

}  // namespace paynotify::amqp

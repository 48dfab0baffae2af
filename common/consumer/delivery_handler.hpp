#pragma once
/// The interface the consumer loop needs from a service: decide what happens to a delivery.
/// The loop owns it (so the loop knows no business vocabulary and folders point one way:
/// the service's handler includes this, never the reverse); each subscriber service
/// implements it with its own policy.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/amqp/message.hpp"
#include "common/consumer/disposition.hpp"

namespace paynotify::consumer {

/// Called from the consumer thread only; implementations need not be thread-safe.
///
/// Neither method should throw: expected failures are dispositions (kRetry, kDeadLetter, and
/// kPause when a dependency is down). If one throws anyway, the loop treats it as a bug: it
/// logs it, drops the broker connection so every unsettled delivery is redelivered, and
/// carries on after a back-off (at-least-once holds; the handler must be idempotent).
class DeliveryHandler {
 public:
  virtual ~DeliveryHandler() = default;

  /// What to do with one delivery. For kPause the loop waits `delay` and asks again with the
  /// same delivery (a handler keeps its own back-off state for that).
  virtual Disposition Decide(const amqp::Delivery& delivery) = 0;

  /// What to do with several deliveries taken together (one transaction in the handler's
  /// store, typically): one disposition per delivery, in order, never kPause; or nullopt
  /// when the batch as a whole failed (`failure` receives why): normally nothing of it took
  /// effect, but after an in-doubt commit (connection lost during COMMIT) it may have. The
  /// loop then hands each delivery to Decide, which tells which one failed and how; a
  /// handler must therefore be idempotent per delivery (an inbox), so a batch that did
  /// commit is applied once, its deliveries found to be duplicates.
  virtual std::optional<std::vector<Disposition>> DecideBatch(std::span<const amqp::Delivery> deliveries,
                                                              std::string& failure) = 0;

  /// Bodies longer than this end a batch (so a batch holds at most one of them in memory);
  /// the handler is expected to dead-letter them undecoded.
  virtual size_t MaxBodyBytes() const = 0;

  /// Every reason Decide/DecideBatch may dead-letter with (besides reason::*): the values of
  /// the dead-letter metric's `reason` label. Any other reason is counted as "other", so no
  /// message can make up a label value. The strings must outlive the handler's use.
  virtual std::span<const std::string_view> DeadLetterReasons() const = 0;
};

}  // namespace paynotify::consumer

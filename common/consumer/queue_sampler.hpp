#pragma once
/// Samples how many messages wait in a service's queues, on a thread of its own, so a status
/// page reads the last values without touching the broker and the consumer loop is never
/// slowed by it. Core code: a port (QueueProbe), no rabbitmq-c.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics/registry.hpp"
#include "common/runtime/clock.hpp"

namespace paynotify::consumer {

/// Port: how many messages are ready (not delivered and unacked) in a queue. One thread only
/// (the sampler's). AmqpQueueProbe in production.
class QueueProbe {
 public:
  virtual ~QueueProbe() = default;
  /// Ready messages in `queue` now. Throws on any failure (broker away, queue missing); the
  /// adapter reconnects on a later call.
  virtual uint64_t ReadyMessages(const std::string& queue) = 0;
};

/// One queue's last sample: the count (nullopt when the last attempt failed or none was made
/// yet: unknown, not 0) and when it was taken (the sampler's Clock).
struct QueueSample {
  std::optional<uint64_t> messages;
  std::optional<std::chrono::steady_clock::time_point> sampled_at;
};

/// Every `interval`, asks the probe for each queue's depth; keeps the results for Last() and
/// sets the gauge `<gauge_name>{queue="<label>"}` (labels are the caller's fixed names, e.g.
/// "main", "dead-letter", never a queue name from elsewhere). A failed probe makes Last()
/// unknown and leaves the gauge at its last value (a scrape cannot tell "unknown" from a
/// number; the broker's own readiness gauge says it is down). Failures are logged at warn once
/// per outage, then at debug.
///
/// Run() on one thread; Last() from any thread (a copy under a short mutex: cheap enough for
/// the HTTP I/O thread).
class QueueSampler {
 public:
  struct Queue {
    std::string label;  ///< gauge label value and Last() key
    std::string name;   ///< the broker's queue name
  };

  /// `probe`, `registry` and `clock` must outlive the sampler. Throws std::invalid_argument
  /// for an invalid gauge name or a non-positive interval.
  QueueSampler(QueueProbe& probe, std::vector<Queue> queues, std::chrono::milliseconds interval,
               metrics::Registry& registry, const std::string& gauge_name, const runtime::Clock& clock);

  /// Samples, then waits `interval` on the Clock, until `stop`. Never throws.
  void Run(std::stop_token stop);
  /// One round over every queue (exposed for tests). Never throws.
  void SampleOnce();
  /// The last sample of the queue labelled `label` (unknown for a label it does not sample).
  QueueSample Last(std::string_view label) const;

 private:
  struct Entry {
    Queue queue;
    metrics::Gauge* gauge;
    QueueSample sample;  // guarded by mutex_
  };

  QueueProbe& probe_;
  std::chrono::milliseconds interval_;
  const runtime::Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  bool failing_ = false;  // Run's thread only: the last round failed (log once per outage)
};

}  // namespace paynotify::consumer

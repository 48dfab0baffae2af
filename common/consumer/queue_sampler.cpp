#include "common/consumer/queue_sampler.hpp"

#include <stdexcept>

#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::consumer {

QueueSampler::QueueSampler(QueueProbe& probe, std::vector<Queue> queues, std::chrono::milliseconds interval,
                           metrics::Registry& registry, const std::string& gauge_name,
                           const runtime::Clock& clock)
    : probe_(probe), interval_(interval), clock_(clock) {
  if (interval.count() <= 0) throw std::invalid_argument("QueueSampler: the interval must be positive");
  for (auto& q : queues) {
    metrics::Gauge& gauge = registry.GetGauge(gauge_name, "Messages ready in the service's queues, by queue role "
                                                          "(sampled periodically with a passive queue.declare)",
                                              {{"queue", q.label}});
    entries_.push_back(Entry{std::move(q), &gauge, QueueSample{}});
  }
}

void QueueSampler::SampleOnce() {
  auto logger = log::Get("queue-sampler");
  bool failed = false;
  for (auto& entry : entries_) {
    std::optional<uint64_t> messages;
    try {
      messages = probe_.ReadyMessages(entry.queue.name);
    } catch (const std::exception& e) {
      if (!failed) {
        logger->log(failing_ ? spdlog::level::debug : spdlog::level::warn,
                    "queue depth not sampled queue={}: {}; unknown until the next sample",
                    text::Printable(entry.queue.name), text::Printable(e.what()));
      }
      failed = true;
    }
    if (messages) entry.gauge->Set(static_cast<double>(*messages));
    std::lock_guard lock(mutex_);
    entry.sample = QueueSample{messages, clock_.Now()};
  }
  if (failing_ && !failed) logger->info("queue depths sampled again");
  failing_ = failed;
}

void QueueSampler::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    try {
      SampleOnce();
    } catch (const std::exception& e) {  // SampleOnce does not throw; a bug must not end the process
      log::Get("queue-sampler")->error("sampling failed: {}", text::Printable(e.what()));
    }
    clock_.SleepFor(interval_, stop);
  }
}

QueueSample QueueSampler::Last(std::string_view label) const {
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    if (entry.queue.label == label) return entry.sample;
  }
  return {};
}

}  // namespace paynotify::consumer

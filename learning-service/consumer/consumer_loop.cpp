#include "learning-service/consumer/consumer_loop.hpp"

#include "common/log/log.hpp"
#include "common/runtime/stop.hpp"

namespace paynotify::learning {
namespace {

std::string KeyOf(const Delivery& d, const HandleResult& r) {
  if (!r.dedup_key.empty()) return r.dedup_key;
  return d.message_id.value_or("<none>");
}

}  // namespace

ConsumerLoop::ConsumerLoop(DeliverySource& source, CopyPublisher& publisher, EnrollmentHandler& handler,
                           ConsumerTopology topology, ConsumerMetrics& metrics, const runtime::Clock& clock,
                           ConsumerLoopSettings settings)
    : source_(source),
      publisher_(publisher),
      handler_(handler),
      topology_(std::move(topology)),
      metrics_(metrics),
      clock_(clock),
      settings_(settings),
      settle_backoff_(settings.reconnect) {}

void ConsumerLoop::Run(std::stop_token stop) {
  auto log = log::Get("consumer");
  runtime::Backoff reconnect(settings_.reconnect);
  log->info("consuming queue={}; retry queues {}.retry.1..{}; parking queue {}",
            topology_.queue, topology_.queue, topology_.retry.max_attempts - 1, topology_.dead_letter_queue);
  while (!stop.stop_requested()) {
    try {
      std::optional<Delivery> delivery = source_.Next(settings_.poll);
      publisher_.Maintain();
      if (!connected_.exchange(true) && reconnect.Attempts() > 0) {
        log->info("broker connection re-established queue={}", topology_.queue);
      }
      reconnect.Reset();
      if (!delivery) continue;
      metrics_.Consumed();
      Process(*delivery, stop);
    } catch (const std::exception& e) {
      connected_ = false;
      const auto delay = reconnect.Next();
      log->warn("broker connection lost queue={}: {}; unacked deliveries return to the queue; will reconnect in {}ms",
                topology_.queue, e.what(), delay.count());
      runtime::SleepFor(stop, delay);
    }
  }
  log->info("stopped consuming queue={}", topology_.queue);
}

void ConsumerLoop::Process(const Delivery& delivery, std::stop_token stop) {
  auto log = log::Get("consumer");
  HandleResult result;
  while (true) {
    result = handler_.Handle(delivery);
    metrics_.Record(result);
    if (result.disposition.kind != Disposition::Kind::kPause) break;
    if (!paused_.exchange(true)) {
      log->warn("database unavailable: {}; pausing consumption, holding message_key={} unacked",
                result.disposition.text, KeyOf(delivery, result));
    }
    log->info("database still unavailable; will retry message_key={} in {}ms", KeyOf(delivery, result),
              result.disposition.delay.count());
    if (!runtime::SleepFor(stop, result.disposition.delay)) {
      source_.Requeue(delivery.delivery_tag);
      log->info("stop requested while the database is unavailable; requeued message_key={}", KeyOf(delivery, result));
      return;
    }
  }
  if (paused_.exchange(false)) log->info("database available again; resuming consumption");

  const Disposition& d = result.disposition;
  switch (d.kind) {
    case Disposition::Kind::kAck:
      source_.Ack(delivery.delivery_tag);
      log->debug("{} message_key={}; acked", OutcomeName(result.outcome), KeyOf(delivery, result));
      break;
    case Disposition::Kind::kRetry:
      if (PublishThenAck(delivery, MakeRetryCopy(delivery, topology_, d), "retry", stop)) {
        metrics_.Retried(d.attempt);
        log->warn("apply failed message_key={} attempt={}: {}; will retry in {}ms (attempt {} of {})",
                  KeyOf(delivery, result), d.attempt - 1, d.text, d.delay.count(), d.attempt,
                  topology_.retry.max_attempts);
      }
      break;
    case Disposition::Kind::kDeadLetter:
      if (PublishThenAck(delivery, MakeDeadLetterCopy(delivery, topology_, d, clock_.WallNow()), "dead-letter",
                         stop)) {
        metrics_.DeadLettered(d.reason);
        log->error("dead-lettered message_key={} reason={} attempts={}: {}; parked in {}", KeyOf(delivery, result),
                   d.reason, d.attempt, d.text, topology_.dead_letter_queue);
      }
      break;
    case Disposition::Kind::kPause:
      break;  // unreachable: handled above
  }
}

bool ConsumerLoop::PublishThenAck(const Delivery& delivery, const OutgoingCopy& copy, std::string_view action,
                                  std::stop_token stop) {
  bool confirmed = false;
  std::string why = "not confirmed by the broker";
  try {
    confirmed = publisher_.PublishConfirmed(copy);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (confirmed) {
    settle_backoff_.Reset();
    source_.Ack(delivery.delivery_tag);
    return true;
  }
  metrics_.SettleFailed(action);
  source_.Requeue(delivery.delivery_tag);
  // The requeued delivery comes straight back: wait a little so a broker that keeps
  // refusing the copy does not turn this into a hot loop.
  const auto delay = settle_backoff_.Next();
  log::Get("consumer")->warn("{} copy to {} {} message_id={}; original requeued, will handle it again in {}ms",
                             action, copy.routing_key, why, delivery.message_id.value_or("<none>"), delay.count());
  runtime::SleepFor(stop, delay);
  return false;
}

}  // namespace paynotify::learning

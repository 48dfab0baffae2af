#include "learning-service/consumer/consumer_loop.hpp"

#include <algorithm>

#include "common/log/log.hpp"
#include "common/runtime/stop.hpp"
#include "common/text/escape.hpp"

namespace paynotify::learning {
namespace {

// Error texts in our logs: long enough for a SQL error, short enough for a log line.
constexpr size_t kMaxLoggedError = 512;

// The message's key for a log line: it comes from the message, so escaped and cut short.
std::string KeyOf(const Delivery& d, const HandleResult& r) {
  if (!r.dedup_key.empty()) return text::Printable(r.dedup_key);
  return d.message_id ? text::Printable(*d.message_id) : "<none>";
}

std::string ErrorText(std::string_view text) { return text::Printable(text, kMaxLoggedError); }

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
  std::vector<Delivery> batch;
  batch.reserve(settings_.batch_size);
  log->info("consuming queue={} (up to {} per transaction); retry queues {}.retry.1..{}; parking queue {}",
            topology_.queue, settings_.batch_size, topology_.queue, topology_.retry.max_attempts - 1,
            topology_.dead_letter_queue);
  while (!stop.stop_requested()) {
    try {
      std::optional<Delivery> delivery = source_.Next(settings_.poll);
      publisher_.Maintain();
      if (!connected_.exchange(true) && reconnect.Attempts() > 0) {
        log->info("broker connection re-established queue={}", topology_.queue);
      }
      reconnect.Reset();
      if (!delivery) continue;
      batch.clear();
      batch.push_back(std::move(*delivery));
      // Only what has already arrived (prefetch): waiting for a fuller batch would add latency.
      // An oversized body ends the batch, so a batch holds at most one of them in memory.
      const auto oversized = [&](const Delivery& d) { return d.body.size() > handler_.MaxBodyBytes(); };
      while (batch.size() < settings_.batch_size && !oversized(batch.back())) {
        std::optional<Delivery> more = source_.Next(std::chrono::milliseconds::zero());
        if (!more) break;
        batch.push_back(std::move(*more));
      }
      for (size_t i = 0; i < batch.size(); ++i) metrics_.Consumed();
      ProcessBatch(batch, stop);
    } catch (const std::exception& e) {
      connected_ = false;
      const auto delay = reconnect.Next();
      log->warn("broker connection lost queue={}: {}; unacked deliveries return to the queue; will reconnect in {}ms",
                topology_.queue, ErrorText(e.what()), delay.count());
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
                ErrorText(result.disposition.text), KeyOf(delivery, result));
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
  Settle(delivery, result, stop);
}

void ConsumerLoop::ProcessBatch(std::span<const Delivery> batch, std::stop_token stop) {
  metrics_.Batch(batch.size());
  if (batch.size() == 1) {
    Process(batch.front(), stop);
    return;
  }
  auto log = log::Get("consumer");
  std::string failure;
  std::optional<std::vector<HandleResult>> results = handler_.HandleBatch(batch, &failure);
  if (!results) {
    metrics_.BatchFellBack();
    log->info("batch of {} not applied, nothing of it committed ({}); handling its messages one by one",
              batch.size(), ErrorText(failure));
    for (const Delivery& delivery : batch) {
      if (stop.stop_requested()) {
        source_.Requeue(delivery.delivery_tag);  // the rest of a batch held by an outage
        continue;
      }
      Process(delivery, stop);
    }
    return;
  }
  if (paused_.exchange(false)) log->info("database available again; resuming consumption");
  // Copies first, each settled on its own once the broker confirmed it (or requeued); then ONE
  // multiple ack for everything simply done. The multiple ack comes last so it cannot cover a
  // delivery whose copy is still unconfirmed: every delivery of the batch up to its tag is
  // settled by then, and nothing earlier than the batch is left unsettled.
  std::optional<uint64_t> last_done;
  for (size_t i = 0; i < batch.size(); ++i) {
    const HandleResult& result = (*results)[i];
    metrics_.Record(result);
    if (result.disposition.kind == Disposition::Kind::kAck) {
      log->debug("{} message_key={}", OutcomeName(result.outcome), KeyOf(batch[i], result));
      last_done = std::max(last_done.value_or(0), batch[i].delivery_tag);
      continue;
    }
    Settle(batch[i], result, stop);
  }
  if (last_done) source_.AckThrough(*last_done);
}

void ConsumerLoop::Settle(const Delivery& delivery, const HandleResult& result, std::stop_token stop) {
  auto log = log::Get("consumer");
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
                  KeyOf(delivery, result), d.attempt - 1, ErrorText(d.text), d.delay.count(), d.attempt,
                  topology_.retry.max_attempts);
      }
      break;
    case Disposition::Kind::kDeadLetter:
      if (ParkThenAck(delivery, result, stop)) {
        metrics_.DeadLettered(d.reason);
        log->error("dead-lettered message_key={} reason={} attempts={}: {}; parked in {}", KeyOf(delivery, result),
                   d.reason, d.attempt, ErrorText(d.text), topology_.dead_letter_queue);
      }
      break;
    case Disposition::Kind::kPause:
      // Never from a batch; Process loops on a pause before settling. Keep the message safe.
      source_.Requeue(delivery.delivery_tag);
      break;
  }
}

bool ConsumerLoop::TryPublish(const OutgoingCopy& copy, std::string& why) {
  try {
    if (publisher_.PublishConfirmed(copy)) return true;
    why = "not confirmed by the broker";
  } catch (const std::exception& e) {
    why = e.what();
  }
  return false;
}

bool ConsumerLoop::PublishThenAck(const Delivery& delivery, const OutgoingCopy& copy, std::string_view action,
                                  std::stop_token stop) {
  std::string why;
  if (TryPublish(copy, why)) {
    settle_backoff_.Reset();
    source_.Ack(delivery.delivery_tag);
    return true;
  }
  RequeueAfterFailure(delivery, copy, action, why, stop);
  return false;
}

bool ConsumerLoop::ParkThenAck(const Delivery& delivery, const HandleResult& result, std::stop_token stop) {
  const Disposition& d = result.disposition;
  const OutgoingCopy full = MakeDeadLetterCopy(delivery, topology_, d, clock_.WallNow());
  std::string why;
  if (TryPublish(full, why)) {
    settle_backoff_.Reset();
    source_.Ack(delivery.delivery_tag);
    return true;
  }
  // The full copy holds the body, short properties and our own bounded headers, so this is
  // almost surely the broker; but if the message is the cause after all, requeueing it would
  // bring it back forever. Park what cannot fail because of the message.
  log::Get("consumer")->warn("dead-letter copy to {} {} message_key={}; parking a minimal copy (body, message_id, "
                             "reason) instead",
                             full.routing_key, ErrorText(why), KeyOf(delivery, result));
  const OutgoingCopy minimal = MakeMinimalDeadLetterCopy(delivery, topology_, d);
  if (TryPublish(minimal, why)) {
    metrics_.ParkedMinimal();
    settle_backoff_.Reset();
    source_.Ack(delivery.delivery_tag);
    return true;
  }
  RequeueAfterFailure(delivery, minimal, "dead-letter", why, stop);
  return false;
}

void ConsumerLoop::RequeueAfterFailure(const Delivery& delivery, const OutgoingCopy& copy, std::string_view action,
                                       const std::string& why, std::stop_token stop) {
  metrics_.SettleFailed(action);
  source_.Requeue(delivery.delivery_tag);
  // The requeued delivery comes straight back: wait a little so a broker that keeps
  // refusing the copy does not turn this into a hot loop.
  const auto delay = settle_backoff_.Next();
  log::Get("consumer")->warn("{} copy to {} {} message_id={}; original requeued, will handle it again in {}ms",
                             action, copy.routing_key, ErrorText(why),
                             delivery.message_id ? text::Printable(*delivery.message_id) : "<none>", delay.count());
  runtime::SleepFor(stop, delay);
}

}  // namespace paynotify::learning

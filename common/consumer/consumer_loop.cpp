#include "common/consumer/consumer_loop.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::consumer {
namespace {

// Error texts in our logs: long enough for a SQL error, short enough for a log line.
constexpr size_t kMaxLoggedError = 512;

// The message's key for a log line: it comes from the message, so escaped and cut short.
std::string KeyOf(const amqp::Delivery& delivery, const Disposition& d) {
  if (!d.key.empty()) return text::Printable(d.key);
  return delivery.message_id ? text::Printable(*delivery.message_id) : "<none>";
}

std::string ErrorText(std::string_view text) { return text::Printable(text, kMaxLoggedError); }

}  // namespace

ConsumerLoop::ConsumerLoop(DeliverySource& source, CopyPublisher& publisher, DeliveryHandler& handler,
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
  std::vector<amqp::Delivery> batch;
  batch.reserve(settings_.batch_size);
  log->info("consuming queue={} (up to {} per batch); retry queues {}.retry.1..{}; parking queue {}",
            topology_.queue, settings_.batch_size, topology_.queue, topology_.retry.max_attempts - 1,
            topology_.dead_letter_queue);
  while (!stop.stop_requested()) {
    try {
      std::optional<amqp::Delivery> delivery;
      try {
        delivery = source_.Next(settings_.poll);
      } catch (const std::exception& e) {
        throw SourceFailure(e.what());
      }
      publisher_.Maintain();
      if (!connected_.exchange(true) && reconnect.Attempts() > 0) {
        log->info("broker connection re-established queue={}", topology_.queue);
      }
      if (!delivery) {
        reconnect.Reset();
        continue;
      }
      batch.clear();
      batch.push_back(std::move(*delivery));
      // Only what has already arrived (prefetch): waiting for a fuller batch would add latency.
      // An oversized body ends the batch, so a batch holds at most one of them in memory.
      const auto oversized = [&](const amqp::Delivery& d) { return d.body.size() > handler_.MaxBodyBytes(); };
      while (batch.size() < settings_.batch_size && !oversized(batch.back())) {
        std::optional<amqp::Delivery> more;
        try {
          more = source_.Next(std::chrono::milliseconds::zero());
        } catch (const std::exception& e) {
          throw SourceFailure(e.what());
        }
        if (!more) break;
        batch.push_back(std::move(*more));
      }
      for (size_t i = 0; i < batch.size(); ++i) metrics_.Consumed();
      ProcessBatch(batch, stop);
      // Only after a whole batch went through: a failure that repeats on redelivery (see the
      // second catch) then backs off further each time instead of spinning at the first step.
      reconnect.Reset();
    } catch (const SourceFailure& e) {
      connected_ = false;
      metrics_.LoopError("broker");
      const auto delay = reconnect.Next();
      log->warn("broker connection lost queue={}: {}; unacked deliveries return to the queue; will reconnect in {}ms",
                topology_.queue, ErrorText(e.what()), delay.count());
      clock_.SleepFor(delay, stop);
    } catch (const std::exception& e) {
      // Not the broker: a handler that broke its never-throw contract, or out of memory. Which
      // deliveries of the batch are still unsettled is unknown here, and unsettled ones would
      // stay held (prefetch) until the connection closes: close it, so all come back.
      metrics_.LoopError("unexpected");
      source_.DropConnection();
      connected_ = false;
      const auto delay = reconnect.Next();
      log->error("unexpected error while handling {} deliveries from queue={}: {}; dropped the broker connection so "
                 "every unsettled one is redelivered; will resume in {}ms",
                 batch.size(), topology_.queue, ErrorText(e.what()), delay.count());
      clock_.SleepFor(delay, stop);
    }
  }
  log->info("stopped consuming queue={}", topology_.queue);
}

void ConsumerLoop::Process(const amqp::Delivery& delivery, std::stop_token stop) {
  auto log = log::Get("consumer");
  Disposition d;
  while (true) {
    d = handler_.Decide(delivery);
    if (d.kind != Disposition::Kind::kPause) break;
    if (!paused_.exchange(true)) {
      metrics_.PauseEntered();
      log->warn("handler paused: {}; pausing consumption, holding message_key={} unacked", ErrorText(d.text),
                KeyOf(delivery, d));
    }
    metrics_.PauseRetry();
    log->info("still paused ({}); will try message_key={} again in {}ms", ErrorText(d.text), KeyOf(delivery, d),
              d.delay.count());
    if (!clock_.SleepFor(d.delay, stop)) {
      Requeue(delivery.delivery_tag);
      log->info("stop requested while paused; requeued message_key={}", KeyOf(delivery, d));
      return;
    }
  }
  if (paused_.exchange(false)) log->info("handler available again; resuming consumption");
  Settle(delivery, d, stop);
}

void ConsumerLoop::ProcessBatch(std::span<const amqp::Delivery> batch, std::stop_token stop) {
  metrics_.Batch(batch.size());
  if (batch.size() == 1) {
    Process(batch.front(), stop);
    return;
  }
  auto log = log::Get("consumer");
  std::string failure;
  std::optional<std::vector<Disposition>> decided = handler_.DecideBatch(batch, failure);
  if (decided && decided->size() != batch.size()) {
    failure = fmt::format("handler answered {} dispositions for {} deliveries", decided->size(), batch.size());
    decided.reset();
  }
  if (!decided) {
    metrics_.BatchFellBack();
    log->info("batch of {} not decided as a whole, nothing of it took effect ({}); handling its messages one by one",
              batch.size(), ErrorText(failure));
    for (const amqp::Delivery& delivery : batch) {
      if (stop.stop_requested()) {
        Requeue(delivery.delivery_tag);  // the rest of a batch held by a pause
        continue;
      }
      Process(delivery, stop);
    }
    return;
  }
  if (paused_.exchange(false)) log->info("handler available again; resuming consumption");
  // Copies first, each settled on its own once the broker confirmed it (or requeued); then ONE
  // multiple ack for everything simply done. The multiple ack comes last so it cannot cover a
  // delivery whose copy is still unconfirmed: every delivery of the batch up to its tag is
  // settled by then, and nothing earlier than the batch is left unsettled.
  std::optional<uint64_t> last_done;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Disposition& d = (*decided)[i];
    if (d.kind == Disposition::Kind::kAck) {
      log->debug("{} message_key={}", d.outcome.empty() ? "done" : d.outcome, KeyOf(batch[i], d));
      last_done = std::max(last_done.value_or(0), batch[i].delivery_tag);
      continue;
    }
    Settle(batch[i], d, stop);
  }
  if (last_done) AckThrough(*last_done);
}

void ConsumerLoop::Settle(const amqp::Delivery& delivery, const Disposition& d, std::stop_token stop) {
  auto log = log::Get("consumer");
  switch (d.kind) {
    case Disposition::Kind::kAck:
      Ack(delivery.delivery_tag);
      log->debug("{} message_key={}; acked", d.outcome.empty() ? "done" : d.outcome, KeyOf(delivery, d));
      break;
    case Disposition::Kind::kRetry:
      if (PublishThenAck(delivery, MakeRetryCopy(delivery, topology_, d), "retry", stop)) {
        metrics_.Retried(d.attempt);
        log->warn("failed message_key={} attempt={}: {}; will retry in {}ms (attempt {} of {})", KeyOf(delivery, d),
                  d.attempt - 1, ErrorText(d.text), d.delay.count(), d.attempt, topology_.retry.max_attempts);
      }
      break;
    case Disposition::Kind::kDeadLetter:
      if (ParkThenAck(delivery, d, stop)) {
        metrics_.DeadLettered(ReasonLabel(d.reason));
        log->error("dead-lettered message_key={} reason={} attempts={}: {}; parked in {}", KeyOf(delivery, d),
                   text::Printable(d.reason, 64), d.attempt, ErrorText(d.text), topology_.dead_letter_queue);
      }
      break;
    case Disposition::Kind::kPause:
      // Never from a batch (DecideBatch's contract); Process loops on a pause before settling.
      // Keep the message safe.
      Requeue(delivery.delivery_tag);
      break;
  }
}

std::string_view ConsumerLoop::ReasonLabel(std::string_view reason) const {
  if (reason == reason::kRetriesExhausted) return reason::kRetriesExhausted;
  for (std::string_view known : handler_.DeadLetterReasons()) {
    if (known == reason) return known;
  }
  return "other";
}

bool ConsumerLoop::TryPublish(const amqp::OutgoingMessage& copy, std::string& why) {
  try {
    if (publisher_.PublishConfirmed(copy)) return true;
    why = "not confirmed by the broker";
  } catch (const std::exception& e) {
    why = e.what();
  }
  return false;
}

bool ConsumerLoop::PublishThenAck(const amqp::Delivery& delivery, const amqp::OutgoingMessage& copy,
                                  std::string_view action, std::stop_token stop) {
  std::string why;
  if (TryPublish(copy, why)) {
    settle_backoff_.Reset();
    Ack(delivery.delivery_tag);
    return true;
  }
  RequeueAfterFailure(delivery, copy, action, why, stop);
  return false;
}

bool ConsumerLoop::ParkThenAck(const amqp::Delivery& delivery, const Disposition& d, std::stop_token stop) {
  const amqp::OutgoingMessage full = MakeDeadLetterCopy(delivery, topology_, d, clock_.WallNow());
  std::string why;
  if (TryPublish(full, why)) {
    settle_backoff_.Reset();
    Ack(delivery.delivery_tag);
    return true;
  }
  // The full copy holds the body, short properties and our own bounded headers, so this is
  // almost surely the broker; but if the message is the cause after all, requeueing it would
  // bring it back forever. Park what cannot fail because of the message.
  log::Get("consumer")->warn("dead-letter copy to {} {} message_key={}; parking a minimal copy (body, message_id, "
                             "reason) instead",
                             full.routing_key, ErrorText(why), KeyOf(delivery, d));
  const amqp::OutgoingMessage minimal = MakeMinimalDeadLetterCopy(delivery, topology_, d);
  if (TryPublish(minimal, why)) {
    metrics_.ParkedMinimal();
    settle_backoff_.Reset();
    Ack(delivery.delivery_tag);
    return true;
  }
  RequeueAfterFailure(delivery, minimal, "dead-letter", why, stop);
  return false;
}

void ConsumerLoop::RequeueAfterFailure(const amqp::Delivery& delivery, const amqp::OutgoingMessage& copy,
                                       std::string_view action, const std::string& why, std::stop_token stop) {
  metrics_.SettleFailed(action);
  Requeue(delivery.delivery_tag);
  // The requeued delivery comes straight back: wait a little so a broker that keeps
  // refusing the copy does not turn this into a hot loop.
  const auto delay = settle_backoff_.Next();
  log::Get("consumer")->warn("{} copy to {} {} message_id={}; original requeued, will handle it again in {}ms",
                             action, copy.routing_key, ErrorText(why),
                             delivery.message_id ? text::Printable(*delivery.message_id) : "<none>", delay.count());
  clock_.SleepFor(delay, stop);
}

void ConsumerLoop::Ack(uint64_t tag) {
  try {
    source_.Ack(tag);
  } catch (const std::exception& e) {
    throw SourceFailure(e.what());
  }
}

void ConsumerLoop::AckThrough(uint64_t tag) {
  try {
    source_.AckThrough(tag);
  } catch (const std::exception& e) {
    throw SourceFailure(e.what());
  }
}

void ConsumerLoop::Requeue(uint64_t tag) {
  try {
    source_.Requeue(tag);
  } catch (const std::exception& e) {
    throw SourceFailure(e.what());
  }
}

}  // namespace paynotify::consumer

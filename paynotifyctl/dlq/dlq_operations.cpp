#include "paynotifyctl/dlq/dlq_operations.hpp"

#include <algorithm>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/errors.hpp"
#include "common/consumer/headers.hpp"
#include "common/text/escape.hpp"

namespace paynotify::ctl::dlq {
namespace {

void NoteItem(ActionReport& report, ItemReport item) {
  if (report.items.size() < kMaxReportedItems) {
    report.items.push_back(std::move(item));
  } else {
    report.items_truncated = true;
  }
}

std::vector<std::string> NotFound(const Selection& selection, const std::set<std::string>& seen) {
  std::vector<std::string> missing;
  for (const auto& id : selection.message_ids) {
    if (!seen.contains(id)) missing.push_back(id);
  }
  return missing;
}

// "<name>-dlq-<role>" (name: the target's connection_name, "paynotifyctl" when empty), so an
// operator sees in the management UI which walk or publisher a connection is.
amqp::BrokerSettings Named(amqp::BrokerSettings settings, const char* role) {
  const std::string base = settings.connection_name.empty() ? std::string("paynotifyctl") : settings.connection_name;
  settings.connection_name = base + "-dlq-" + role;
  return settings;
}

}  // namespace

ListReport List(const DlqTarget& target, const std::optional<std::string>& reason, size_t limit) {
  ListReport report;
  const amqp::QueueBrowser browser(Named(target.broker, "list"), target.dead_letter_queue, target.browse);
  report.walk = browser.Walk([&](const amqp::Delivery& parked, uint64_t position) {
    DeadLetterSummary summary = Summarize(parked, position);
    if (reason && summary.reason != *reason) return amqp::Verdict::kKeep;
    if (report.messages.size() >= limit) {
      report.more = true;  // one more match than asked for: enough to say so
      return amqp::Verdict::kStop;
    }
    report.messages.push_back(std::move(summary));
    return amqp::Verdict::kKeep;
  });
  return report;
}

StatsReport Stats(const DlqTarget& target) {
  StatsReport report;
  const amqp::QueueBrowser browser(Named(target.broker, "stats"), target.dead_letter_queue, target.browse);
  report.walk = browser.Walk([&](const amqp::Delivery& parked, uint64_t) {
    report.reasons.Add(ParkingReason(parked.headers));
    return amqp::Verdict::kKeep;
  });
  return report;
}

std::optional<ShowReport> Show(const DlqTarget& target, const std::string& message_id) {
  auto found = amqp::FindByMessageId(Named(target.broker, "show"), target.dead_letter_queue, message_id,
                                     target.browse, kMaxShownBody);
  if (!found) return std::nullopt;
  ShowReport report;
  report.summary = Summarize(found->delivery, found->position);
  report.summary.body_size = found->body_size;
  report.found = std::move(*found);
  return report;
}

// A selected message: counted, its id remembered when ids were named, its report started.
static ItemReport CountSelected(const amqp::Delivery& parked, uint64_t position, const Selection& selection,
                                ActionReport& report, std::set<std::string>& seen) {
  ++report.selected;
  // Only named ids are looked for: --all over a big queue keeps no set of every id.
  if (parked.message_id && !selection.message_ids.empty()) seen.insert(*parked.message_id);
  ItemReport item;
  item.position = position;
  item.message_id = parked.message_id;
  item.reason = ParkingReason(parked.headers);
  return item;
}

ActionReport Replay(const DlqTarget& target, const Selection& selection, bool dry_run) {
  ActionReport report;
  std::set<std::string> seen;
  std::unique_ptr<amqp::ConfirmPublisher> publisher;
  if (!dry_run) publisher = std::make_unique<amqp::ConfirmPublisher>(Named(target.broker, "replay"), 1);
  const amqp::QueueBrowser browser(Named(target.broker, "walk"), target.dead_letter_queue, target.browse);
  report.walk = browser.Walk([&](const amqp::Delivery& parked, uint64_t position) {
    if (!selection.Selects(parked)) return amqp::Verdict::kKeep;
    ItemReport item = CountSelected(parked, position, selection, report, seen);
    const amqp::OutgoingMessage replay = MakeReplay(parked, target.queue);
    item.replayed = std::get<int64_t>(replay.headers.at(consumer::kReplayedHeader));
    if (dry_run) {
      item.outcome = "would-replay";
      NoteItem(report, std::move(item));
      return amqp::Verdict::kKeep;
    }
    amqp::PublishOutcome outcome = amqp::PublishOutcome::kUnknown;
    try {
      publisher->Connect();
      outcome = publisher->PublishBatch({&replay, 1}, target.confirm_timeout).front();
    } catch (const amqp::AmqpError& error) {
      // Nothing was published: the broker is unreachable for publishing, so every further
      // message would fail the same way after a connect timeout. Stop; the rest stays parked.
      item.outcome = "failed";
      item.error = error.what();
      report.aborted = error.what();
      ++report.failed;
      NoteItem(report, std::move(item));
      return amqp::Verdict::kStop;
    }
    if (outcome == amqp::PublishOutcome::kConfirmed) {
      item.outcome = "replayed";
      ++report.done;
      NoteItem(report, std::move(item));
      return amqp::Verdict::kSettle;  // only now: the main queue has the copy
    }
    item.outcome = "failed";
    item.error = amqp::ToString(outcome);
    if (outcome == amqp::PublishOutcome::kReturned) {
      item.error += fmt::format(" (no queue '{}')", text::Printable(target.queue));
    } else if (outcome == amqp::PublishOutcome::kUnknown && !publisher->LastError().empty()) {
      item.error += ": " + publisher->LastError();
    }
    ++report.failed;
    NoteItem(report, std::move(item));
    return amqp::Verdict::kKeep;
  });
  report.not_found = NotFound(selection, seen);
  return report;
}

ActionReport Discard(const DlqTarget& target, const Selection& selection, std::ostream& log) {
  ActionReport report;
  std::set<std::string> seen;
  const amqp::QueueBrowser browser(Named(target.broker, "discard"), target.dead_letter_queue, target.browse);
  report.walk = browser.Walk([&](const amqp::Delivery& parked, uint64_t position) {
    if (!selection.Selects(parked)) return amqp::Verdict::kKeep;
    ItemReport item = CountSelected(parked, position, selection, report, seen);
    // The record of what was thrown away, written before it is gone.
    log << fmt::format("dlq discard: message_id={} reason={} body_bytes={} body={}\n",
                       parked.message_id ? text::Printable(*parked.message_id) : std::string("-"),
                       item.reason ? text::Printable(*item.reason) : std::string("-"), parked.body.size(),
                       text::Printable(parked.body, kMaxLoggedBody));
    log.flush();
    if (!log) {
      item.outcome = "failed";
      item.error = "could not write the discard log";
      ++report.failed;
      NoteItem(report, std::move(item));
      return amqp::Verdict::kStop;  // never discard what could not be recorded
    }
    item.outcome = "discarded";
    ++report.done;
    NoteItem(report, std::move(item));
    return amqp::Verdict::kSettle;
  });
  report.not_found = NotFound(selection, seen);
  return report;
}

}  // namespace paynotify::ctl::dlq

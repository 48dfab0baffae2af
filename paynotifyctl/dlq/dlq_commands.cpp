#include "paynotifyctl/dlq/dlq_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "common/amqp/errors.hpp"
#include "common/log/log.hpp"
#include "common/text/escape.hpp"
#include "paynotifyctl/app/configs.hpp"
#include "paynotifyctl/cli/output.hpp"
#include "paynotifyctl/dlq/dlq_operations.hpp"

namespace paynotify::ctl {

namespace {

using dlq::ActionReport;
using dlq::DeadLetterSummary;
using dlq::DlqTarget;

constexpr int64_t kDefaultListLimit = 50;
constexpr int64_t kMaxListLimit = 10000;
constexpr int64_t kDefaultTimeoutS = 60;
constexpr int64_t kMaxTimeoutS = 3600;
// A header value as `show` prints it (the consumer's own are at most ~1 KiB).
constexpr size_t kMaxShownHeader = 4096;

const Option kTimeoutOption{.name = "--timeout",
                            .value_name = "SECONDS",
                            .help = fmt::format("give up a walk of the queue after this long (default {})",
                                                kDefaultTimeoutS)};

DlqTarget LoadTarget(const Invocation& in) {
  const int64_t timeout_s = in.args.Int("--timeout", kDefaultTimeoutS, 1, kMaxTimeoutS);
  const learning::LearningSettings s = ReadLearningConfig(in.global.learning_config, {"rabbitmq", "consumer"});
  // The library's "connected to ..." lines are for daemons; a tool says only what went wrong.
  log::Init(log::LogSettings{.level = "warn", .json = false});
  return DlqTargetFrom(s, std::chrono::seconds(timeout_s));
}

// Runs one operation, mapping the broker's failures to the tool's error kinds.
template <class Op>
auto WithBroker(const DlqTarget& target, Op op) {
  try {
    return op();
  } catch (const amqp::QueueNotFound& e) {
    throw NotFound(fmt::format("{} (consumer.dead-letter-queue; learning-service declares it at start-up)",
                               text::Printable(e.what(), 1024)));
  } catch (const amqp::AmqpError& e) {
    throw Unavailable(fmt::format("broker: {} (queue '{}')", text::Printable(e.what(), 1024),
                                  text::Printable(target.dead_letter_queue)));
  }
}

nlohmann::json WalkJson(const amqp::WalkResult& walk) {
  return {{"end", amqp::ToString(walk.end)},
          {"queue_depth", walk.expected},
          {"visited", walk.visited},
          {"settles_confirmed", walk.settles_confirmed},
          {"error", walk.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(walk.error)}};
}

bool Finished(const amqp::WalkResult& walk) {
  return walk.end == amqp::WalkEnd::kAllSeen || walk.end == amqp::WalkEnd::kDrained ||
         walk.end == amqp::WalkEnd::kStopped;
}

// A walk that did not finish is a failure of the command, whatever it did before.
void FailIfUnfinished(Result& result, const amqp::WalkResult& walk, const DlqTarget& target) {
  const std::string& queue = target.dead_letter_queue;
  if (Finished(walk) && !walk.settles_confirmed && target.browse.quorum_queue && walk.error.rfind("quorum", 0) == 0) {
    // Expected for quorum queues (QueueBrowser's header): said, not failed.
    result.text += "note: a quorum queue does not confirm acks; if a message reported done is still listed, run the "
                   "command again (a repeated replay is harmless)\n";
    return;
  }
  if (Finished(walk) && walk.settles_confirmed) return;
  result.exit_status = kExitFailed;
  if (!Finished(walk)) {
    result.error = fmt::format("the walk of queue '{}' did not finish ({}, {} of {} visited): {}",
                               text::Printable(queue), amqp::ToString(walk.end), walk.visited, walk.expected,
                               text::Printable(walk.error, 1024));
  } else {
    result.error = fmt::format("the broker did not confirm the acks of queue '{}' ({}): the messages reported "
                               "done may still be parked; run the command again (a repeated replay is harmless)",
                               text::Printable(queue), text::Printable(walk.error, 1024));
  }
}

std::optional<std::string> Num(const std::optional<int64_t>& value) {
  if (!value) return std::nullopt;
  return std::to_string(*value);
}

nlohmann::json SummaryJson(const DeadLetterSummary& s) {
  return {{"position", s.position},
          {"message_id", OrNull(s.message_id)},
          {"reason", OrNull(s.reason)},
          {"error", OrNull(s.error)},
          {"attempts", s.attempts ? nlohmann::json(*s.attempts) : nlohmann::json(nullptr)},
          {"failed_at", OrNull(s.failed_at)},
          {"replayed", s.replayed},
          {"business_key1", OrNull(s.business_key1)},
          {"business_key2", OrNull(s.business_key2)},
          {"body_problem", OrNull(s.body_problem)},
          {"body_bytes", s.body_size},
          {"body_start", text::Printable(s.body_start, dlq::kBodyPreviewBytes)}};
}

// ---- list / stats -----------------------------------------------------------------------

Result ListCommand(const Invocation& in) {
  const int64_t limit = in.args.Int("--limit", kDefaultListLimit, 1, kMaxListLimit);
  const std::optional<std::string> reason = in.args.Value("--reason");
  const DlqTarget target = LoadTarget(in);
  const dlq::ListReport report =
      WithBroker(target, [&] { return dlq::List(target, reason, static_cast<size_t>(limit)); });

  Table table({"POS", "MESSAGE_ID", "REASON", "ATTEMPTS", "FAILED_AT", "BUSINESSKEY1", "BUSINESSKEY2", "REPLAYED",
               "BODY"});
  table.AlignRight(0).AlignRight(3).AlignRight(7).Limit(1, 40).Limit(5, 24).Limit(6, 16).Limit(8, 48);
  nlohmann::json items = nlohmann::json::array();
  for (const DeadLetterSummary& s : report.messages) {
    items.push_back(SummaryJson(s));
    table.AddRow({std::to_string(s.position), s.message_id, s.reason, Num(s.attempts), s.failed_at, s.business_key1,
                  s.business_key2, std::to_string(s.replayed), s.body_start});
  }
  Result result;
  result.json = {{"queue", target.dead_letter_queue},
                 {"reason", OrNull(reason)},
                 {"limit", limit},
                 {"count", report.messages.size()},
                 {"more", report.more},
                 {"messages", std::move(items)},
                 {"walk", WalkJson(report.walk)}};
  result.text = table.Render();
  result.text += fmt::format("{} shown of {} parked in {}{}\n", report.messages.size(), report.walk.expected,
                             text::Printable(target.dead_letter_queue),
                             report.more ? " (more match: --limit N)" : "");
  FailIfUnfinished(result, report.walk, target);
  return result;
}

Result StatsCommand(const Invocation& in) {
  const DlqTarget target = LoadTarget(in);
  const dlq::StatsReport report = WithBroker(target, [&] { return dlq::Stats(target); });
  Table table({"REASON", "COUNT"});
  table.AlignRight(1);
  nlohmann::json reasons = nlohmann::json::object();
  for (const auto& [reason, count] : report.reasons.Counts()) {
    reasons[reason] = count;
    table.AddRow({reason, std::to_string(count)});
  }
  Result result;
  result.json = {{"queue", target.dead_letter_queue},
                 {"total", report.reasons.Total()},
                 {"reasons", std::move(reasons)},
                 {"walk", WalkJson(report.walk)}};
  result.text = table.Render();
  result.text += fmt::format("{} parked in {}\n", report.reasons.Total(), text::Printable(target.dead_letter_queue));
  FailIfUnfinished(result, report.walk, target);
  return result;
}

// ---- show -------------------------------------------------------------------------------

std::string HeaderValueText(const amqp::HeaderValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return fmt::format("{}", v);
        }
      },
      value);
}

nlohmann::json HeaderValueJson(const amqp::HeaderValue& value) {
  return std::visit(
      [](const auto& v) -> nlohmann::json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return text::Printable(v, kMaxShownHeader);
        } else {
          return v;
        }
      },
      value);
}

Result ShowCommand(const Invocation& in) {
  const auto& words = in.args.Positionals();
  if (words.size() != 1) throw UsageError("give exactly one MESSAGE_ID");
  const std::string& message_id = words[0];
  const DlqTarget target = LoadTarget(in);
  const auto shown = WithBroker(target, [&] { return dlq::Show(target, message_id); });
  if (!shown) {
    throw NotFound(fmt::format("no message with message_id '{}' in {}", text::Printable(message_id),
                               text::Printable(target.dead_letter_queue)));
  }
  const amqp::Delivery& d = shown->found.delivery;
  const auto opt_num = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : d.headers) headers[text::Printable(name)] = HeaderValueJson(value);
  Result result;
  result.json = {{"queue", target.dead_letter_queue},
                 {"position", shown->found.position},
                 {"message_id", OrNull(d.message_id)},
                 {"properties",
                  {{"content_type", OrNull(d.content_type)},
                   {"content_encoding", OrNull(d.content_encoding)},
                   {"type", OrNull(d.type)},
                   {"app_id", OrNull(d.app_id)},
                   {"timestamp", opt_num(d.timestamp_s)},
                   {"delivery_mode", opt_num(d.delivery_mode)},
                   {"redelivered", d.redelivered}}},
                 {"headers", std::move(headers)},
                 {"summary", SummaryJson(shown->summary)},
                 {"body_bytes", shown->found.body_size},
                 {"body_truncated", shown->found.body_truncated},
                 {"body", text::Printable(d.body, dlq::kMaxShownBody)}};

  std::vector<std::pair<std::string, std::optional<std::string>>> rows = {
      {"queue", target.dead_letter_queue},
      {"position", std::to_string(shown->found.position)},
      {"message_id", d.message_id},
      {"content_type", d.content_type},
      {"content_encoding", d.content_encoding},
      {"type", d.type},
      {"app_id", d.app_id},
      {"timestamp", Num(d.timestamp_s)},
      {"delivery_mode", d.delivery_mode ? std::optional<std::string>(std::to_string(*d.delivery_mode)) : std::nullopt},
      {"businessKey1", shown->summary.business_key1},
      {"businessKey2", shown->summary.business_key2},
  };
  if (shown->summary.body_problem) rows.emplace_back("body problem", shown->summary.body_problem);
  for (const auto& [name, value] : d.headers) {
    rows.emplace_back("header " + text::Printable(name, 64), HeaderValueText(value));
  }
  result.text = KeyValues(rows, kMaxShownHeader);
  result.text += fmt::format("body ({} bytes{}):\n{}\n", shown->found.body_size,
                             shown->found.body_truncated ? ", cut" : "",
                             text::Printable(d.body, dlq::kMaxShownBody));
  return result;
}

// ---- replay / discard -------------------------------------------------------------------

dlq::Selection ParseSelection(const Invocation& in, bool allow_all) {
  dlq::Selection selection;
  const auto& words = in.args.Positionals();
  selection.message_ids = std::set<std::string>(words.begin(), words.end());
  selection.reason = in.args.Value("--reason");
  selection.all = allow_all && in.args.Has("--all");
  const int given = (words.empty() ? 0 : 1) + (selection.reason ? 1 : 0) + (selection.all ? 1 : 0);
  const std::string choices = allow_all ? "MESSAGE_ID..., --reason R or --all" : "MESSAGE_ID... or --reason R";
  if (given == 0) throw UsageError("which messages? give " + choices);
  if (given > 1) throw UsageError("give one of " + choices + ", not several");
  return selection;
}

Result ActionResult(const ActionReport& report, const DlqTarget& target, const char* verb, bool dry_run) {
  Table table({"POS", "MESSAGE_ID", "REASON", "OUTCOME", "REPLAYED", "ERROR"});
  table.AlignRight(0).AlignRight(4).Limit(1, 40).Limit(5, 80);
  nlohmann::json items = nlohmann::json::array();
  for (const dlq::ItemReport& item : report.items) {
    items.push_back({{"position", item.position},
                     {"message_id", OrNull(item.message_id)},
                     {"reason", OrNull(item.reason)},
                     {"outcome", item.outcome},
                     {"replayed", item.replayed},
                     {"error", item.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(item.error)}});
    table.AddRow({std::to_string(item.position), item.message_id, item.reason, item.outcome,
                  std::to_string(item.replayed), item.error});
  }
  const bool replay = std::string_view(verb) == "replay";
  Result result;
  result.json = {{"queue", target.dead_letter_queue},
                 {"selected", report.selected},
                 {replay ? "replayed" : "discarded", report.done},
                 {"failed", report.failed},
                 {"not_found", report.not_found},
                 {"items", std::move(items)},
                 {"items_truncated", report.items_truncated},
                 {"walk", WalkJson(report.walk)}};
  if (replay) {
    result.json["main_queue"] = target.queue;
    result.json["dry_run"] = dry_run;
  }
  result.text = table.Render();
  std::vector<std::string> missing;
  for (const auto& id : report.not_found) missing.push_back(text::Printable(id));
  result.text += fmt::format("{} selected, {} {}{}, {} failed, {} not found{}\n", report.selected, report.done,
                             replay ? "replayed" : "discarded", dry_run ? " (dry run: nothing sent or removed)" : "",
                             report.failed, report.not_found.size(),
                             missing.empty() ? "" : fmt::format(" ({})", fmt::join(missing, ", ")));
  if (report.items_truncated) result.text += fmt::format("(first {} listed)\n", report.items.size());

  FailIfUnfinished(result, report.walk, target);
  if (result.exit_status == kExitOk && !report.aborted.empty()) {
    result.exit_status = kExitFailed;
    result.error = fmt::format("stopped: cannot publish to the broker: {}", text::Printable(report.aborted, 1024));
  } else if (result.exit_status == kExitOk && report.failed > 0) {
    result.exit_status = kExitFailed;
    result.error = fmt::format("{} message{} could not be {} and stay{} parked", report.failed,
                               report.failed == 1 ? "" : "s", replay ? "replayed" : "discarded",
                               report.failed == 1 ? "s" : "");
  } else if (result.exit_status == kExitOk && !report.not_found.empty()) {
    result.exit_status = kExitFailed;
    result.error_kind = "not_found";
    result.error = fmt::format("not in {}: {}", text::Printable(target.dead_letter_queue), fmt::join(missing, ", "));
  }
  return result;
}

Result ReplayCommand(const Invocation& in) {
  const dlq::Selection selection = ParseSelection(in, /*allow_all=*/true);
  const bool dry_run = in.args.Has("--dry-run");
  const DlqTarget target = LoadTarget(in);
  const ActionReport report = WithBroker(target, [&] { return dlq::Replay(target, selection, dry_run); });
  return ActionResult(report, target, "replay", dry_run);
}

Result DiscardCommand(const Invocation& in) {
  const dlq::Selection selection = ParseSelection(in, /*allow_all=*/false);
  if (!in.args.Has("--yes")) {
    throw UsageError("discard removes messages for good: add --yes (each is logged to stderr first)");
  }
  const DlqTarget target = LoadTarget(in);
  const ActionReport report = WithBroker(target, [&] { return dlq::Discard(target, selection, std::cerr); });
  return ActionResult(report, target, "discard", false);
}

}  // namespace

DlqTarget DlqTargetFrom(const learning::LearningSettings& settings, std::chrono::milliseconds timeout) {
  DlqTarget target;
  target.broker = settings.broker;
  target.broker.connection_name = "paynotifyctl";  // not the daemon's name: ours are not its connections
  target.queue = settings.topology.queue;
  target.dead_letter_queue = settings.topology.dead_letter_queue;
  target.browse.timeout = timeout;
  target.browse.quorum_queue = settings.topology.queue_type == "quorum";
  target.confirm_timeout = settings.confirm_timeout;
  return target;
}

void RegisterDlqCommands(std::vector<Command>& commands) {
  const std::string nondestructive =
      "Reads the parking queue without taking anything out of it: every message is received\n"
      "unacknowledged and given back, in its place, when the walk ends (no get-and-requeue).\n"
      "While a walk runs (seconds), the messages it holds are invisible to other consumers.";
  commands.push_back(Command{
      .group = "dlq",
      .verb = "list",
      .summary = "parked messages in order: id, reason, attempts, failed-at, keys, body",
      .synopsis = "[--reason R] [--limit N] [--timeout SECONDS]",
      .description = nondestructive + "\nThe JSON document has the error text and the body's decode problem too.",
      .options = {{.name = "--reason", .value_name = "R", .help = "only messages parked for reason R"},
                  {.name = "--limit",
                   .value_name = "N",
                   .help = fmt::format("at most N messages (default {}, at most {})", kDefaultListLimit, kMaxListLimit)},
                  kTimeoutOption},
      .positional = "",
      .handler = ListCommand,
  });
  commands.push_back(Command{
      .group = "dlq",
      .verb = "stats",
      .summary = "parked messages per reason",
      .synopsis = "[--timeout SECONDS]",
      .description = nondestructive,
      .options = {kTimeoutOption},
      .positional = "",
      .handler = StatsCommand,
  });
  commands.push_back(Command{
      .group = "dlq",
      .verb = "show",
      .summary = "one parked message whole: properties, headers, body",
      .synopsis = "MESSAGE_ID [--timeout SECONDS]",
      .description = nondestructive + "\nExit 1 when no parked message has that message_id. Bodies are shown escaped, "
                                      "at most 1 MiB.",
      .options = {kTimeoutOption},
      .positional = "MESSAGE_ID",
      .handler = ShowCommand,
  });
  commands.push_back(Command{
      .group = "dlq",
      .verb = "replay",
      .summary = "back to the main queue with publisher confirms, then removed",
      .synopsis = "(MESSAGE_ID... | --reason R | --all) [--dry-run] [--timeout SECONDS]",
      .description =
          "Each selected message is published to consumer.queue through the default exchange (so\n"
          "other subscribers of the fanout exchange get no second copy), persistent, with its\n"
          "message_id, properties and body, x-paynotify-replayed counted up and a fresh set of\n"
          "attempts. Only when the broker confirms that copy is the parked one removed; a copy that\n"
          "is nacked, returned or not confirmed in time leaves it parked (counted failed, exit 1).\n"
          "A message applied in the meantime is absorbed by learning-service's inbox as a duplicate,\n"
          "so replaying twice is harmless. Exit 1 also when a named MESSAGE_ID is not parked.",
      .options = {{.name = "--reason", .value_name = "R", .help = "every message parked for reason R"},
                  {.name = "--all", .value_name = "", .help = "every parked message"},
                  {.name = "--dry-run", .value_name = "", .help = "only say what would be replayed"},
                  kTimeoutOption},
      .positional = "MESSAGE_ID...",
      .handler = ReplayCommand,
  });
  commands.push_back(Command{
      .group = "dlq",
      .verb = "discard",
      .summary = "remove for good (--yes), each logged to stderr first",
      .synopsis = "(MESSAGE_ID... | --reason R) --yes [--timeout SECONDS]",
      .description = "Each selected message's message_id, reason and body (escaped) are written to stderr\n"
                     "before it is acknowledged away. Without --yes nothing is done (exit 2). Exit 1 when a\n"
                     "named MESSAGE_ID is not parked.",
      .options = {{.name = "--reason", .value_name = "R", .help = "every message parked for reason R"},
                  {.name = "--yes", .value_name = "", .help = "really remove them"},
                  kTimeoutOption},
      .positional = "MESSAGE_ID...",
      .handler = DiscardCommand,
  });
}

}  // namespace paynotify::ctl

#include "paynotifyctl/dlq/dead_letter.hpp"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/consumer/headers.hpp"
#include "common/messages/mq_message.hpp"
#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"

namespace paynotify::ctl::dlq {
namespace {

// x-paynotify-last-error is read back by the consumer only up to 1003 bytes of valid UTF-8.
constexpr size_t kMaxLastError = 1000;
constexpr size_t kMaxReasonKey = 128;

// `text` cut to at most `max_bytes` without splitting a UTF-8 sequence.
std::string CutAtCharacter(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

// The broker's bookkeeping: x-death and friends, and a quorum queue's x-delivery-count (the
// parking queue's own count of walks; a replayed message starts a new life in the main queue).
bool IsBrokerDeathHeader(const std::string& name) {
  return name.rfind("x-death", 0) == 0 || name.rfind("x-first-death", 0) == 0 ||
         name.rfind("x-last-death", 0) == 0 || name == "x-delivery-count";
}

}  // namespace

std::optional<std::string> HeaderText(const amqp::Headers& headers, const std::string& name) {
  const auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v.substr(0, kMaxHeaderText);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return fmt::format("{}", v);
        }
      },
      it->second);
}

std::optional<int64_t> HeaderInt(const amqp::Headers& headers, const std::string& name) {
  const auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(&it->second)) return *i;
  if (const auto* s = std::get_if<std::string>(&it->second)) {
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
    if (ec == std::errc{} && ptr == s->data() + s->size() && !s->empty()) return value;
  }
  return std::nullopt;
}

std::optional<std::string> ParkingReason(const amqp::Headers& headers) {
  if (auto ours = HeaderText(headers, consumer::kReasonHeader)) return ours;
  // The broker's own dead-lettering: x-death is an array of tables, the latest death first
  // (it arrives as JSON text, see amqp::HeaderValue; possibly cut, then it does not parse).
  // x-first-death-reason names the FIRST death, which for a message that went round a retry
  // queue before is "expired", not why it is parked now.
  if (const auto death = headers.find("x-death"); death != headers.end()) {
    if (const auto* json = std::get_if<std::string>(&death->second)) {
      const nlohmann::json parsed = nlohmann::json::parse(*json, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_array() && !parsed.empty() && parsed.front().is_object()) {
        const auto reason = parsed.front().find("reason");
        if (reason != parsed.front().end() && reason->is_string()) {
          return reason->get<std::string>().substr(0, kMaxHeaderText);
        }
      }
    }
  }
  return HeaderText(headers, "x-first-death-reason");
}

DeadLetterSummary Summarize(const amqp::Delivery& parked, uint64_t position) {
  DeadLetterSummary s;
  s.position = position;
  s.message_id = parked.message_id;
  s.reason = ParkingReason(parked.headers);
  s.error = HeaderText(parked.headers, consumer::kErrorHeader);
  s.attempts = HeaderInt(parked.headers, consumer::kAttemptsHeader);
  s.failed_at = HeaderText(parked.headers, consumer::kFailedAtHeader);
  s.replayed = HeaderInt(parked.headers, consumer::kReplayedHeader).value_or(0);
  s.body_size = parked.body.size();
  s.body_start = parked.body.substr(0, kBodyPreviewBytes);
  if (parked.body.size() > kMaxDecodeBytes) {
    s.body_problem = fmt::format("body too large to decode ({} bytes)", parked.body.size());
    return s;
  }
  // A body that does not parse still lists: what the headers say, and why the keys are unknown.
  messages::DecodeResult decoded = messages::DecodeMqMessage(parked.body);
  if (decoded.message) {
    // The columns they come from are varchar(64): a longer key is a forgery, shown cut (with
    // "...", so it can never equal a real key) to keep a 10000-row listing small.
    const auto bounded = [](const std::optional<std::string>& key) -> std::optional<std::string> {
      if (!key || key->size() <= kMaxBusinessKeyBytes) return key;
      return text::CutToBytes(*key, kMaxBusinessKeyBytes);
    };
    s.business_key1 = bounded(decoded.message->business_key1);
    s.business_key2 = bounded(decoded.message->business_key2);
  } else {
    s.body_problem = decoded.errors.empty() ? std::string("body does not decode") : decoded.errors.front();
  }
  return s;
}

bool Selection::Selects(const amqp::Delivery& parked) const {
  if (all) return true;
  if (reason) return ParkingReason(parked.headers) == *reason;
  return parked.message_id && message_ids.contains(*parked.message_id);
}

amqp::OutgoingMessage MakeReplay(const amqp::Delivery& parked, const std::string& main_queue) {
  amqp::OutgoingMessage replay;
  replay.exchange = "";
  replay.routing_key = main_queue;
  replay.body = parked.body;
  replay.message_id = parked.message_id.value_or("");
  replay.content_type = parked.content_type.value_or("");
  replay.content_encoding = parked.content_encoding.value_or("");
  replay.type = parked.type.value_or("");
  replay.app_id = parked.app_id.value_or("");
  replay.timestamp_s = parked.timestamp_s;
  replay.persistent = true;
  replay.mandatory = true;

  for (const auto& [name, value] : parked.headers) {
    if (IsBrokerDeathHeader(name)) continue;
    if (name == consumer::kReasonHeader || name == consumer::kErrorHeader || name == consumer::kAttemptsHeader ||
        name == consumer::kFailedAtHeader || name == consumer::kAttemptHeader ||
        name == consumer::kLastErrorHeader || name == consumer::kReplayedHeader) {
      continue;
    }
    replay.headers[name] = value;
  }
  const int64_t previous = std::max<int64_t>(0, HeaderInt(parked.headers, consumer::kReplayedHeader).value_or(0));
  const int64_t count = std::min<int64_t>(previous, 999'999) + 1;  // what the consumer carries over
  replay.headers[consumer::kReplayedHeader] = count;
  const auto reason = ParkingReason(parked.headers);
  const auto error = HeaderText(parked.headers, consumer::kErrorHeader);
  if (reason || error) {
    std::string why = fmt::format("replay {} after {}", count, reason.value_or("(no reason)"));
    if (error) why += ": " + *error;
    // The consumer keeps this header only when it is valid UTF-8 it could have written.
    if (!text::IsValidUtf8(why)) why = text::Printable(why, kMaxLastError);
    replay.headers[consumer::kLastErrorHeader] = CutAtCharacter(std::move(why), kMaxLastError);
  }
  return replay;
}

void ReasonCounts::Add(const std::optional<std::string>& reason) {
  ++total_;
  std::string key = reason ? CutAtCharacter(*reason, kMaxReasonKey) : std::string(kNoReason);
  if (!counts_.contains(key) && counts_.size() >= kMaxDistinctReasons) key = kOtherReasons;
  ++counts_[key];
}

}  // namespace paynotify::ctl::dlq

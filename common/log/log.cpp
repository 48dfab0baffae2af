#include "common/log/log.hpp"

#include <array>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/text/escape.hpp"

namespace paynotify::log {
namespace {

// One JSON object per line; fields escaped by hand because spdlog patterns cannot escape %v.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    const std::time_t tt = seconds.count();
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::array<char, 32> ts{};
    const size_t n = std::strftime(ts.data(), ts.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    const auto level = spdlog::level::to_string_view(msg.level);
    fmt::format_to(std::back_inserter(dest),
                   R"({{"ts":"{}.{:03}Z","level":"{}","logger":"{}","msg":"{}"}})",
                   std::string_view(ts.data(), n), millis,
                   std::string_view(level.data(), level.size()),
                   JsonEscape(std::string_view(msg.logger_name.data(), msg.logger_name.size())),
                   JsonEscape(Printable(std::string_view(msg.payload.data(), msg.payload.size()))));
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Bytes of one message kept in a log line; the rest is cut with a "(+N bytes)" marker.
constexpr size_t kMaxMessageBytes = 8192;

// %v with every control character and ill-formed byte escaped and the length bounded, so no
// text that reached a message (a request field, a message body) can start a forged line.
class EscapedPayloadFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text = Printable(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedPayloadFlag>();
  }
};

std::unique_ptr<spdlog::formatter> TextFormatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedPayloadFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-8l %n: %*");
  return formatter;
}

struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
  spdlog::level::level_enum level = spdlog::level::info;

  State() : sink(std::make_shared<spdlog::sinks::stderr_sink_mt>()) {
    sink->set_formatter(TextFormatter());
  }
};

State& GetState() {
  static State state;  // never destroyed before the last log call of a static object
  return state;
}

spdlog::level::level_enum ParseLevel(std::string_view text) {
  static const std::map<std::string_view, spdlog::level::level_enum> kLevels{
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  if (auto it = kLevels.find(text); it != kLevels.end()) return it->second;
  throw std::invalid_argument(fmt::format(
      "unknown log level '{}'; expected one of trace, debug, info, warn, error, critical, off",
      text));
}

}  // namespace

std::string Printable(std::string_view message) {
  return text::Printable(message, kMaxMessageBytes);
}

void Init(const LogSettings& settings) {
  const auto level = ParseLevel(settings.level);
  State& state = GetState();
  std::lock_guard lock(state.mutex);
  state.level = level;
  if (settings.json) {
    state.sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    state.sink->set_formatter(TextFormatter());
  }
  for (auto& [name, logger] : state.loggers) {
    logger->set_level(level);
    logger->flush_on(spdlog::level::warn);
  }
}

std::shared_ptr<spdlog::logger> Get(std::string_view subsystem) {
  State& state = GetState();
  std::lock_guard lock(state.mutex);
  if (auto it = state.loggers.find(subsystem); it != state.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(std::string(subsystem), state.sink);
  logger->set_level(state.level);
  logger->flush_on(spdlog::level::warn);
  state.loggers.emplace(std::string(subsystem), logger);
  return logger;
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace paynotify::log

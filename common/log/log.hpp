#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace paynotify::log {

/// Logging settings, usually read from the `log.level` / `log.json` config keys.
/// `level` is one of trace, debug, info, warn, error, critical, off (Init throws
/// std::invalid_argument on anything else). `json` switches stderr output from human text
/// ("2024-01-01T10:00:00.123Z info  relay: ...") to one JSON object per line:
/// {"ts":"2024-01-01T10:00:00.123Z","level":"info","logger":"relay","msg":"..."}.
struct LogSettings {
  std::string level = "info";
  bool json = false;
};

/// (Re)configures logging for the whole process: the format and level apply to every
/// logger already handed out by Get() and to all future ones. Call once early in main(),
/// after config is loaded; calling again (tests) is allowed. Thread-safe.
/// Throws std::invalid_argument for an unknown level.
void Init(const LogSettings& settings);

/// The logger for one subsystem ("relay", "intake", "amqp", ...), created on first use and
/// the same object afterwards. The logger name is the subsystem, so messages need not
/// repeat it. Usable before Init() (text, info level). Thread-safe; loggers are synchronous
/// and safe to share between threads.
std::shared_ptr<spdlog::logger> Get(std::string_view subsystem);

/// What the sink writes for a message: control characters and ill-formed UTF-8 escaped
/// (text::Printable), at most 8 KiB. Applied to every line in both formats, so a value
/// from a request or a message can never forge a log line; callers still bound each
/// untrusted value with text::Printable(value) so one field cannot fill the line.
std::string Printable(std::string_view message);

/// Escapes `text` for inclusion inside a JSON string literal (quotes, backslash, control
/// characters as \uXXXX). Exposed for tests and for callers building JSON by hand.
std::string JsonEscape(std::string_view text);

}  // namespace paynotify::log

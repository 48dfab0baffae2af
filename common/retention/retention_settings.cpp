#include "common/retention/retention_settings.hpp"

#include <fmt/format.h>

#include "common/config/reader.hpp"

namespace paynotify::retention {

using std::chrono::milliseconds;

void ReadRetentionPacing(config::Reader& reader, RetentionSettings& into) {
  const RetentionSettings defaults;
  // Above 100000 one statement would lock and delete so many rows that it stops being "short".
  into.batch_size = static_cast<size_t>(
      reader.Int("retention.batch-size", static_cast<int64_t>(defaults.batch_size), 1, 100000));
  into.batch_pause = reader.Duration("retention.batch-pause", defaults.batch_pause);
  into.idle_interval = reader.Duration("retention.idle-interval", defaults.idle_interval);
  // Below 1s an idle daemon would probe the index many times a second for nothing.
  if (into.idle_interval < milliseconds(1000)) {
    reader.AddError("retention.idle-interval", "must be at least 1s");
  } else if (into.idle_interval < into.batch_pause) {
    reader.AddError("retention.idle-interval", "must not be shorter than retention.batch-pause");
  }
}

milliseconds ReadRetentionPeriod(config::Reader& reader, std::string_view key, milliseconds fallback,
                                 milliseconds minimum, std::string_view why) {
  const milliseconds value = reader.Duration(key, fallback);
  if (value < minimum) {
    reader.AddError(key, fmt::format("must be at least {} (got {}): {}", FormatDuration(minimum),
                                     FormatDuration(value), why));
  } else if (value > kMaxRetentionPeriod) {
    // now() - interval must stay inside PostgreSQL's timestamp range, or every batch fails.
    reader.AddError(key, fmt::format("must be at most {} (got {})", FormatDuration(kMaxRetentionPeriod),
                                     FormatDuration(value)));
  }
  return value;
}

std::string FormatDuration(milliseconds d) {
  const int64_t ms = d.count();
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  constexpr Unit kUnits[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  if (ms != 0) {
    for (const Unit& unit : kUnits) {
      if (ms % unit.ms == 0) return fmt::format("{}{}", ms / unit.ms, unit.suffix);
    }
  }
  return fmt::format("{}ms", ms);
}

}  // namespace paynotify::retention

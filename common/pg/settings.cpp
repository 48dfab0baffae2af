#include "common/pg/settings.hpp"

#include <string>

#include "common/config/reader.hpp"

namespace paynotify::pg {

namespace {

// libpq: "To write an empty value, or a value containing spaces, surround it with single
// quotes. Single quotes and backslashes within the value must be escaped with a backslash."
std::string Quote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

void Append(std::string& out, std::string_view keyword, std::string_view value) {
  if (!out.empty()) out.push_back(' ');
  out.append(keyword);
  out.push_back('=');
  out.append(Quote(value));
}

std::string Build(const PgSettings& s, bool for_libpq) {
  std::string out;
  Append(out, "host", s.host);
  Append(out, "port", std::to_string(s.port));
  if (!s.dbname.empty()) Append(out, "dbname", s.dbname);
  if (!s.user.empty()) Append(out, "user", s.user);
  if (for_libpq && !s.password.empty()) Append(out, "password", s.password);
  if (!s.application_name.empty()) Append(out, "application_name", s.application_name);
  if (!for_libpq) return out;
  Append(out, "connect_timeout", std::to_string(s.connect_timeout_s));
  if (s.keepalives_idle_s > 0) {
    Append(out, "keepalives", "1");
    Append(out, "keepalives_idle", std::to_string(s.keepalives_idle_s));
  }
  return out;
}

int WholeSeconds(std::chrono::milliseconds d) {
  // Round up: a 1500ms timeout must not become 1s.
  return static_cast<int>((d.count() + 999) / 1000);
}

}  // namespace

std::string PgSettings::ConnString() const { return Build(*this, true); }

std::string PgSettings::Redacted() const { return Build(*this, false); }

PgSettings ReadPgSettings(config::Reader& reader, std::string_view prefix,
                          std::string default_application_name) {
  using std::chrono::milliseconds;
  const std::string p(prefix);
  const auto key = [&p](std::string_view name) { return p + "." + std::string(name); };

  PgSettings s;
  s.host = reader.String(key("host"), s.host);
  if (s.host.empty()) reader.AddError(key("host"), "must not be empty");
  s.port = static_cast<int>(reader.Int(key("port"), s.port, 1, 65535));
  s.user = reader.String(key("user"), "");
  s.password = reader.Secret(key("password"), "");
  s.dbname = reader.String(key("dbname"), "");
  if (s.dbname.empty()) reader.AddError(key("dbname"), "required: the database name");
  s.application_name = reader.String(key("application-name"), std::move(default_application_name));

  const milliseconds connect_timeout = reader.Duration(key("connect-timeout"), std::chrono::seconds(5));
  if (connect_timeout < std::chrono::seconds(1)) {
    reader.AddError(key("connect-timeout"), "must be at least 1s (0 would wait forever)");
  } else {
    s.connect_timeout_s = WholeSeconds(connect_timeout);
  }
  const milliseconds keepalives_idle = reader.Duration(key("keepalives-idle"), std::chrono::seconds(30));
  s.keepalives_idle_s = WholeSeconds(keepalives_idle);

  s.reconnect.initial = reader.Duration(key("reconnect.initial-interval"), s.reconnect.initial);
  s.reconnect.multiplier = reader.Double(key("reconnect.multiplier"), s.reconnect.multiplier, 1.0, 100.0);
  s.reconnect.max = reader.Duration(key("reconnect.max-interval"), s.reconnect.max);
  if (s.reconnect.initial <= milliseconds::zero()) {
    reader.AddError(key("reconnect.initial-interval"), "must be positive");
  }
  if (s.reconnect.max < s.reconnect.initial) {
    reader.AddError(key("reconnect.max-interval"), "must not be less than reconnect.initial-interval");
  }
  return s;
}

}  // namespace paynotify::pg

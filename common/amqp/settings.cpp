#include "common/amqp/settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "common/config/reader.hpp"

namespace paynotify::amqp {
namespace {

bool AllDigits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool ParsePort(std::string_view text, int& port) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) {
    return false;
  }
  port = value;
  return true;
}

}  // namespace

std::vector<size_t> AddressRotation::Order(size_t count) const {
  std::vector<size_t> order;
  order.reserve(count);
  // A list shortened since (not possible today: settings are fixed at start) starts over.
  const size_t first = (last_ && *last_ < count) ? *last_ + 1 : 0;
  for (size_t i = 0; i < count; ++i) order.push_back((first + i) % count);
  return order;
}

bool ParseBrokerAddress(const std::string& raw, BrokerAddress& out) {
  std::string text = raw;
  // Spring also accepts "amqp://host:port"; take the authority part only.
  if (const auto scheme = text.find("://"); scheme != std::string::npos) {
    text = text.substr(scheme + 3);
    if (const auto slash = text.find('/'); slash != std::string::npos) text.resize(slash);
  }
  if (text.empty()) return false;
  BrokerAddress address;
  if (text.front() == '[') {  // [::1]:5672
    const auto close = text.find(']');
    if (close == std::string::npos || close == 1) return false;
    address.host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !ParsePort(rest.substr(1), address.port))) {
      return false;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      address.host = text;
    } else {
      if (text.find(':') != colon) return false;  // bare IPv6 needs brackets
      address.host = text.substr(0, colon);
      if (!ParsePort(std::string_view(text).substr(colon + 1), address.port)) return false;
    }
  }
  if (address.host.empty()) return false;
  out = address;
  return true;
}

BrokerSettings ReadBrokerSettings(config::Reader& reader) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  BrokerSettings settings;

  // host/port are always read (so they are never "unknown keys"); addresses wins when set.
  const std::string host = reader.String("rabbitmq.host", "localhost");
  const int port = static_cast<int>(reader.Int("rabbitmq.port", 5672, 1, 65535));
  const std::vector<std::string> addresses = reader.StringList("rabbitmq.addresses", {});
  if (addresses.empty()) {
    if (host.empty()) reader.AddError("rabbitmq.host", "must not be empty");
    settings.addresses.push_back(BrokerAddress{host, port});
  } else {
    for (const std::string& entry : addresses) {
      BrokerAddress address;
      if (ParseBrokerAddress(entry, address)) {
        settings.addresses.push_back(address);
      } else {
        reader.AddError("rabbitmq.addresses",
                        fmt::format("expected \"host\" or \"host:port\" (port 1-65535), got '{}'",
                                    entry));
      }
    }
    if (settings.addresses.empty()) settings.addresses.push_back(BrokerAddress{host, port});
  }

  settings.username = reader.String("rabbitmq.username", "guest");
  settings.password = reader.Secret("rabbitmq.password");
  // (Built as one value: assigning "/" after the read trips GCC 12's -Wrestrict false
  // positive, PR105651.)
  std::string virtual_host = reader.String("rabbitmq.virtual-host", "/");
  if (virtual_host.empty()) {
    reader.AddError("rabbitmq.virtual-host", "must not be empty (the default vhost is \"/\")");
  }
  settings.virtual_host = virtual_host.empty() ? std::string(1, '/') : std::move(virtual_host);

  // Spring's requested-heartbeat is a Duration whose bare-number unit is SECONDS; an
  // operator copying "requested-heartbeat: 60" from a Spring config must not get 60 ms.
  const std::string heartbeat_text = reader.String("rabbitmq.requested-heartbeat", "");
  milliseconds heartbeat = seconds(settings.heartbeat_s);
  if (AllDigits(heartbeat_text)) {
    int64_t value = reader.Int("rabbitmq.requested-heartbeat", settings.heartbeat_s, 0, 65535);
    heartbeat = seconds(value);
  } else if (!heartbeat_text.empty()) {
    heartbeat = reader.Duration("rabbitmq.requested-heartbeat", heartbeat);
  }
  if (heartbeat.count() % 1000 != 0 || heartbeat > seconds(65535)) {
    reader.AddError("rabbitmq.requested-heartbeat",
                    fmt::format("expected whole seconds between 0s and 65535s, got {}ms",
                                heartbeat.count()));
  } else {
    settings.heartbeat_s = static_cast<int>(heartbeat.count() / 1000);
  }

  settings.connect_timeout = reader.Duration("rabbitmq.connection-timeout", settings.connect_timeout);
  if (settings.connect_timeout <= milliseconds::zero()) {
    reader.AddError("rabbitmq.connection-timeout", "must be greater than 0");
    settings.connect_timeout = milliseconds(5000);
  }
  settings.rpc_timeout = reader.Duration("rabbitmq.rpc-timeout", settings.rpc_timeout);
  if (settings.rpc_timeout <= milliseconds::zero()) {
    reader.AddError("rabbitmq.rpc-timeout", "must be greater than 0");
    settings.rpc_timeout = milliseconds(10000);
  }
  settings.connection_name = reader.String("rabbitmq.connection-name", "");

  settings.reconnect.initial =
      reader.Duration("rabbitmq.reconnect.initial-interval", settings.reconnect.initial);
  settings.reconnect.multiplier =
      reader.Double("rabbitmq.reconnect.multiplier", settings.reconnect.multiplier, 1.0, 100.0);
  settings.reconnect.max =
      reader.Duration("rabbitmq.reconnect.max-interval", settings.reconnect.max);
  if (settings.reconnect.initial <= milliseconds::zero()) {
    reader.AddError("rabbitmq.reconnect.initial-interval", "must be greater than 0");
  } else if (settings.reconnect.max < settings.reconnect.initial) {
    reader.AddError("rabbitmq.reconnect.max-interval",
                    "must not be less than rabbitmq.reconnect.initial-interval");
  }
  return settings;
}

}  // namespace paynotify::amqp

#include "common/http/settings.hpp"

#include <chrono>
#include <string>

namespace paynotify::http {

ServerSettings ReadServerSettings(config::Reader& reader, std::string_view prefix,
                                  ServerSettings defaults) {
  using std::chrono::milliseconds;
  const auto key = [&](std::string_view name) { return std::string(prefix) + "." + std::string(name); };
  ServerSettings s = std::move(defaults);
  s.host = reader.String(key("host"), s.host);
  s.port = static_cast<int>(reader.Int(key("port"), s.port, 0, 65535));
  s.max_body_bytes = static_cast<size_t>(reader.Int(
      key("max-body-bytes"), static_cast<int64_t>(s.max_body_bytes), 1024, 16 * 1024 * 1024));
  s.max_header_bytes = static_cast<size_t>(reader.Int(
      key("max-header-bytes"), static_cast<int64_t>(s.max_header_bytes), 1024, 1024 * 1024));
  s.max_connections = static_cast<size_t>(reader.Int(
      key("max-connections"), static_cast<int64_t>(s.max_connections), 1, 100000));
  s.worker_threads = static_cast<int>(reader.Int(key("worker-threads"), s.worker_threads, 1, 256));
  s.max_queued_requests = static_cast<size_t>(reader.Int(
      key("max-queued-requests"), static_cast<int64_t>(s.max_queued_requests), 0, 100000));
  s.request_timeout = reader.Duration(key("request-timeout"), s.request_timeout);
  s.drain_timeout = reader.Duration(key("drain-timeout"), s.drain_timeout);
  if (s.request_timeout < milliseconds(100)) {
    reader.AddError(key("request-timeout"), "must be at least 100ms");
  }
  return s;
}

}  // namespace paynotify::http

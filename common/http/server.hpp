#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

#include "common/metrics/registry.hpp"

namespace paynotify::http {

/// Where and how to listen. port 0 binds an ephemeral port (tests); read it with Port().
/// Requests with a body over max_body_bytes are answered 413 by cpp-httplib.
struct ServerSettings {
  std::string host = "127.0.0.1";
  int port = 0;
  size_t max_body_bytes = 65536;
};

/// An HTTP server with the probes every daemon needs:
///   GET /healthz -> 200 "ok" while the process serves at all (also while draining);
///   GET /readyz  -> 200 when every readiness check passes, else 503; body is JSON:
///                   {"status":"ready","checks":{"postgres":true,"rabbitmq":true}}
///                   ("not ready" / "draining" otherwise; a check that throws counts as false);
///   GET /metrics -> the registry in Prometheus text format (text/plain; version=0.0.4).
/// The daemon adds its own routes on Routes() before Start(). Every response is counted in
/// paynotify_http_requests_total{path,status} (path "other" for unknown routes), just after
/// the response is written. Do not replace httplib's logger, pre-routing or exception
/// handlers on Routes(): the server uses them for counting, draining and 500s.
///
/// Lifecycle: configure (Routes, AddReadinessCheck) -> Start() -> BeginDrain() -> Stop().
/// After BeginDrain(), /readyz answers 503 and every request other than /healthz, /readyz and
/// /metrics gets 503 "shutting down". Stop() stops accepting, lets in-flight handlers finish
/// and joins the listener thread; it is idempotent and also run by the destructor.
/// Handlers run on cpp-httplib's worker threads, concurrently; an exception from a handler
/// becomes a 500 and is logged once (logger "http"). Routes() and AddReadinessCheck() are
/// meant for set-up before Start(); the other members are thread-safe.
class Server {
 public:
  Server(ServerSettings settings, metrics::Registry& registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The underlying cpp-httplib server, for registering routes before Start().
  httplib::Server& Routes() { return server_; }

  /// Adds a named readiness check, evaluated on each /readyz request (keep it cheap and
  /// non-blocking, e.g. read an atomic "connected" flag).
  void AddReadinessCheck(std::string name, std::function<bool()> check);

  /// Binds and starts listening on a background thread; returns once the server accepts
  /// connections. Throws std::runtime_error if the address cannot be bound (message names
  /// host:port) or the listener does not come up; std::logic_error if already started.
  void Start();

  /// The bound port (the real one when settings.port was 0); 0 before Start().
  int Port() const { return port_.load(); }

  /// Readiness false and new non-probe requests refused with 503, ahead of Stop().
  void BeginDrain() { draining_.store(true); }
  bool Draining() const { return draining_.load(); }

  /// Stops listening and waits for in-flight handlers to finish. Idempotent, noexcept.
  void Stop() noexcept;

 private:
  bool IsProbe(const std::string& path) const;
  void Count(const httplib::Request& request, const httplib::Response& response);

  ServerSettings settings_;
  metrics::Registry& registry_;
  httplib::Server server_;
  std::thread listener_;
  std::mutex lifecycle_mutex_;
  std::atomic<int> port_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> listener_exited_{false};
  bool started_ = false;
  std::mutex checks_mutex_;
  std::vector<std::pair<std::string, std::function<bool()>>> checks_;
};

}  // namespace paynotify::http

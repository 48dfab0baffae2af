#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/metrics/registry.hpp"

namespace paynotify::http {

/// Where and how to listen, and the budgets every connection lives within. The defaults suit
/// an internet-facing listener; port 0 binds an ephemeral port (tests); read it with Port().
struct ServerSettings {
  std::string host = "127.0.0.1";
  int port = 0;
  /// A body over this is answered 413 before it is buffered, whatever its framing (length,
  /// chunked); a request without Content-Length or chunked framing has no body (RFC 9112).
  size_t max_body_bytes = 65536;
  /// Request line plus headers; more is answered 431.
  size_t max_header_bytes = 16384;
  /// Open connections at once; one more is answered 503 and closed at once, never queued.
  size_t max_connections = 256;
  /// Threads that run route handlers (which may block on the database).
  int worker_threads = 8;
  /// Requests waiting for a worker beyond the busy ones; one more is answered 503 at once.
  size_t max_queued_requests = 64;
  /// A whole request (headers and body) must arrive within this from the moment the server
  /// starts waiting for it, and a response must be written within it: a slow or idle client
  /// is cut off here, and holds no worker meanwhile.
  std::chrono::milliseconds request_timeout{10000};
  /// Stop() waits this long for requests already with a handler before closing anyway.
  std::chrono::milliseconds drain_timeout{10000};
  /// Serve GET /readyz and GET /metrics besides /healthz. Off for an internet-facing listener.
  bool operator_endpoints = true;
  /// Names this listener in logs and in the `listener` metric label ("public", "internal").
  std::string name = "http";
};

/// One request as a handler sees it; every byte of it is untrusted.
struct Request {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< as sent, without the query (not percent-decoded)
  std::string query;   ///< after '?', as sent
  /// Values of the route's {name} segments, percent-decoded, in order.
  std::vector<std::string> path_params;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// First header of that name (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  /// First query parameter of that name, percent-decoded ('+' is a space), or nullopt.
  /// The value may be any bytes (e.g. ill-formed UTF-8): validating it is the handler's job.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra, e.g. WWW-Authenticate
};

/// Runs on a worker thread, concurrently with other calls. An exception becomes a 500 that
/// says only "internal error" (the exception text is logged, escaped, never sent).
using Handler = std::function<Response(const Request&)>;

/// An HTTP/1.1 server (Boost.Beast) built to face hostile clients, with the probes every
/// daemon needs:
///   GET /healthz -> 200 "ok" while the process serves at all (also while draining); answered
///                   on the I/O thread, so busy handlers or slow clients never delay it;
///   GET /readyz  -> (operator_endpoints) 200 when every readiness check passes, else 503;
///                   {"status":"ready","checks":{"postgres":true,"rabbitmq":true}}
///                   ("not ready" / "draining" otherwise; a check that throws counts as false),
///                   then one key per readiness detail (AddReadinessDetail), which inform
///                   and never change the status code; each check is also the gauge
///                   paynotify_readiness_check{listener,check} (1/0), set whenever /readyz or
///                   /metrics is served;
///   GET /metrics -> (operator_endpoints) the registry in Prometheus text format.
/// Routes are added with Handle() before Start(): a template is a path whose segments may be
/// `{name}` (one non-empty segment). Every response is counted in
/// paynotify_http_requests_total{listener,path,status} where path is the route template (or
/// "other" when no route matched), so no request can add a label value of its own.
///
/// Budgets (see ServerSettings): body and header sizes, a per-request deadline, a bounded
/// number of connections and of queued handler calls. A request body with a Content-Encoding
/// other than identity is answered 415 (nothing is inflated). One I/O thread does all socket
/// work; handlers run on `worker_threads` threads.
///
/// Lifecycle: configure (Handle, AddReadinessCheck, AddReadinessDetail) -> Start() ->
/// BeginDrain() -> Stop().
/// After BeginDrain(), /readyz answers 503 and every request other than the probes gets 503
/// "shutting down". Stop() stops accepting, lets requests already with a handler finish and
/// their responses be written (up to drain_timeout), closes every connection and joins all
/// threads; it is idempotent and also run by the destructor. Handle(), AddReadinessCheck()
/// and AddReadinessDetail() are for set-up before Start(); the other members are thread-safe.
class Server {
 public:
  Server(ServerSettings settings, metrics::Registry& registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Adds a route. Throws std::logic_error after Start() or for a malformed template.
  void Handle(std::string method, std::string route_template, Handler handler);

  /// Adds a named readiness check, evaluated on each /readyz request on the I/O thread
  /// (keep it cheap and non-blocking, e.g. read an atomic "connected" flag).
  void AddReadinessCheck(std::string name, std::function<bool()> check);

  /// Adds a named detail to the /readyz body (e.g. how much work is waiting): `detail`'s value
  /// appears under `name` after "checks"; null when it throws. It never affects readiness.
  /// Evaluated on the I/O thread on each /readyz request: it must only read values that
  /// other threads sample (atomics, a snapshot under a short mutex), never do I/O. Throws
  /// std::logic_error for "status", "checks" or a name added before.
  void AddReadinessDetail(std::string name, std::function<nlohmann::ordered_json()> detail);

  /// Binds and starts serving; returns once connections are accepted. Throws
  /// std::runtime_error if the address cannot be bound (message names host:port);
  /// std::logic_error if already started.
  void Start();

  /// The bound port (the real one when settings.port was 0); 0 before Start().
  int Port() const { return port_.load(); }

  /// Readiness false and new non-probe requests refused with 503, ahead of Stop().
  void BeginDrain() { draining_.store(true); }

  /// See the class comment. Idempotent, noexcept.
  void Stop() noexcept;

  struct Impl;  // Beast types stay out of this header

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<int> port_{0};
  std::atomic<bool> draining_{false};
  std::mutex lifecycle_mutex_;
  bool started_ = false;
  std::thread io_thread_;
  std::future<void> io_done_;  // ready once the I/O loop has returned
};

}  // namespace paynotify::http

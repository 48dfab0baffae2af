#include "common/http/server.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <condition_variable>
#include <exception>
#include <future>
#include <list>
#include <stdexcept>

#include <fmt/format.h>

#include "common/http/readiness.hpp"
#include "common/log/log.hpp"
#include "common/text/escape.hpp"

namespace paynotify::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kOtherPath = "other";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%41" -> "A"; a '%' not followed by two hex digits stays as it is. `plus_is_space` for
// query strings (application/x-www-form-urlencoded).
std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view View(beast::string_view text) { return {text.data(), text.size()}; }

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

struct Route {
  std::string method;
  std::string route_template;
  std::vector<std::string> segments;  // "{name}" marks a parameter
  Handler handler;

  // Fills `params` and returns true when `path` matches this template.
  bool Match(std::string_view path, std::vector<std::string>& params) const {
    const auto parts = Segments(path);
    if (parts.size() != segments.size()) return false;
    std::vector<std::string> found;
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& want = segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        if (parts[i].empty()) return false;
        found.push_back(PercentDecode(parts[i], /*plus_is_space=*/false));
      } else if (parts[i] != want) {
        return false;
      }
    }
    params = std::move(found);
    return true;
  }
};

}  // namespace

std::optional<std::string> Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string key = PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true);
    if (key != name) continue;
    return eq == std::string_view::npos
               ? std::string{}
               : PercentDecode(pair.substr(eq + 1), /*plus_is_space=*/true);
  }
  return std::nullopt;
}

class Session;

// Everything the Beast server shares between the I/O thread, the workers and the owner.
// Sessions and the acceptor are touched on the I/O thread only.
struct Server::Impl {
  Impl(ServerSettings s, metrics::Registry& r, std::atomic<bool>& draining_flag)
      : settings(std::move(s)),
        registry(r),
        draining(draining_flag),
        acceptor(io),
        workers(static_cast<size_t>(std::max(1, settings.worker_threads))),
        connections_gauge(registry.GetGauge("paynotify_http_connections",
                                            "Open HTTP connections, by listener.",
                                            {{"listener", settings.name}})),
        refused_counter(registry.GetCounter(
            "paynotify_http_connections_refused_total",
            "Connections refused at once because max-connections were open, by listener.",
            {{"listener", settings.name}})),
        handler_gauge(registry.GetGauge(
            "paynotify_http_handler_requests",
            "Requests with a handler, running or queued for a worker, by listener.",
            {{"listener", settings.name}})),
        work_guard(asio::make_work_guard(io)) {}

  ServerSettings settings;
  metrics::Registry& registry;
  std::atomic<bool>& draining;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::thread_pool workers;
  std::vector<Route> routes;
  struct Check {
    std::string name;
    std::function<bool()> check;
    metrics::Gauge* gauge;  // paynotify_readiness_check{listener,check}, set on each evaluation
  };
  std::mutex checks_mutex;
  std::vector<Check> checks;
  std::vector<std::pair<std::string, std::function<nlohmann::ordered_json()>>> details;
  metrics::Gauge& connections_gauge;
  metrics::Counter& refused_counter;
  metrics::Gauge& handler_gauge;
  // Keeps io.run() going while no socket operation is pending (e.g. every session waits for
  // a handler); Stop() releases it so the loop ends once the last session has.
  asio::executor_work_guard<asio::io_context::executor_type> work_guard;

  std::list<std::weak_ptr<Session>> sessions;  // I/O thread only, for Stop() to close them
  std::atomic<size_t> open_connections{0};
  std::atomic<size_t> handler_load{0};         // queued or running handler calls
  std::atomic<bool> stopping{false};

  // Requests handed to a worker whose response is not yet written: Stop() waits for these.
  std::mutex in_flight_mutex;
  std::condition_variable in_flight_done;
  size_t in_flight = 0;

  void Accept();
  void Count(const std::string& path, int status) {
    registry
        .GetCounter("paynotify_http_requests_total",
                    "HTTP requests answered, by listener, route and status.",
                    {{"listener", settings.name}, {"path", path},
                     {"status", std::to_string(status)}})
        .Inc();
  }
  void EndInFlight() {
    std::lock_guard lock(in_flight_mutex);
    --in_flight;
    in_flight_done.notify_all();
  }
  Response Readiness();
  /// Runs every readiness check (a check that throws is false) and records each result in
  /// its gauge, so a /metrics scrape carries them too.
  ReadinessChecks EvaluateChecks();
};

namespace {

Response Text(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

bool IsProbe(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

}  // namespace

// One connection: reads one request at a time under a deadline, answers it (probes inline,
// routes on a worker), writes the response under a deadline, and repeats while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    server_.connections_gauge.Set(static_cast<double>(++server_.open_connections));
  }
  ~Session() {
    server_.connections_gauge.Set(static_cast<double>(--server_.open_connections));
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start() { ReadHeader(); }

  // Cancels whatever the session waits for; its handlers then end it. I/O thread only.
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.settings.max_header_bytes));
    parser_->body_limit(server_.settings.max_body_bytes);
    // One deadline for the whole request, headers and body: a client that trickles bytes
    // or sits idle is cut off here and never holds more than a socket and a small buffer.
    stream_.expires_after(server_.settings.request_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    const auto& header = parser_->get();
    const std::string_view encoding = View(header[bhttp::field::content_encoding]);
    if (!encoding.empty() && !EqualsIgnoreCase(encoding, "identity")) {
      return SendError(415, "Content-Encoding is not supported; send the body uncompressed");
    }
    if (EqualsIgnoreCase(View(header[bhttp::field::expect]), "100-continue")) {
      // The header said how big the body is and it fits (else body_limit fired already).
      auto continue_response =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *continue_response,
                         [self = shared_from_this(), continue_response](beast::error_code ec,
                                                                        size_t) {
                           if (ec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return SendError(413, fmt::format("request body larger than {} bytes",
                                        server_.settings.max_body_bytes));
    }
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      return SendError(431, fmt::format("request header larger than {} bytes",
                                        server_.settings.max_header_bytes));
    }
    if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
        ec == bhttp::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor) {
      return Close();  // gone, idle or too slow: nobody to answer
    }
    // Any other parse error: say so once and close, the stream cannot be resynchronised.
    SendError(400, "malformed HTTP request: " + ec.message());
  }

  void SendError(int status, std::string message) {
    keep_alive_ = false;
    Response response = Text(status, std::move(message));
    Write(std::move(response), kOtherPath);
  }

  void OnRequest(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto message = parser_->release();
    keep_alive_ = message.keep_alive() && !server_.draining.load();

    Request request;
    request.method = std::string(View(message.method_string()));
    const std::string_view target = View(message.target());
    if (target.empty() || target.front() != '/') {
      return SendError(400, "request target must be an absolute path");
    }
    const size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(View(field.name_string())),
                                   std::string(View(field.value())));
    }
    request.body = std::move(message.body());

    if (request.path == "/healthz" ||
        (server_.settings.operator_endpoints && IsProbe(request.path))) {
      if (request.method != "GET") {
        return Write(Text(405, "method not allowed"), request.path);
      }
      return Write(Probe(request.path), request.path);
    }

    const Route* route = nullptr;
    const Route* same_path = nullptr;  // a route for this path, with another method
    for (const Route& candidate : server_.routes) {
      std::vector<std::string> params;
      if (!candidate.Match(request.path, params)) continue;
      if (candidate.method == request.method) {
        route = &candidate;
        request.path_params = std::move(params);
        break;
      }
      if (same_path == nullptr) same_path = &candidate;
    }
    if (route == nullptr) {
      if (same_path == nullptr) return Write(Text(404, "not found"), kOtherPath);
      return Write(Text(405, "method not allowed"), same_path->route_template);
    }
    if (server_.draining.load()) {
      keep_alive_ = false;
      return Write(Text(503, "shutting down"), route->route_template);
    }
    const size_t capacity = static_cast<size_t>(std::max(1, server_.settings.worker_threads)) +
                            server_.settings.max_queued_requests;
    const size_t load = server_.handler_load.fetch_add(1);
    if (load >= capacity) {
      server_.handler_gauge.Set(static_cast<double>(server_.handler_load.fetch_sub(1) - 1));
      Response busy = Text(503, "busy, try again later");
      busy.headers.emplace_back("Retry-After", "1");
      return Write(std::move(busy), route->route_template);
    }
    server_.handler_gauge.Set(static_cast<double>(load + 1));
    {
      std::lock_guard lock(server_.in_flight_mutex);
      ++server_.in_flight;
    }
    asio::post(server_.workers, [self = shared_from_this(), route,
                                 request = std::move(request)]() mutable {
      Response response = self->RunHandler(*route, request);
      self->server_.handler_gauge.Set(
          static_cast<double>(self->server_.handler_load.fetch_sub(1) - 1));
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response), route]() mutable {
                   self->in_flight_ = true;
                   self->Write(std::move(response), route->route_template);
                 });
    });
  }

  Response RunHandler(const Route& route, const Request& request) {
    try {
      return route.handler(request);
    } catch (const std::exception& e) {
      log::Get("http")->error("handler failed listener={} route={} {} error={}; answered 500",
                              server_.settings.name, route.route_template, route.method,
                              text::Printable(e.what()));
    } catch (...) {
      log::Get("http")->error("handler failed listener={} route={} {}; answered 500",
                              server_.settings.name, route.route_template, route.method);
    }
    return Text(500, "internal error");
  }

  Response Probe(const std::string& path) {
    if (path == "/healthz") return Text(200, "ok");
    if (path == "/readyz") return server_.Readiness();
    server_.EvaluateChecks();  // the readiness gauges are as fresh as the scrape
    Response metrics = Text(200, server_.registry.Render());
    metrics.content_type = kMetricsContentType;
    return metrics;
  }

  void Write(Response response, std::string label) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    message->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    if (server_.draining.load() || server_.stopping.load()) keep_alive_ = false;
    message->keep_alive(keep_alive_);
    message->prepare_payload();
    stream_.expires_after(server_.settings.request_timeout);
    const int status = response.status;
    bhttp::async_write(stream_, *message,
                       [self = shared_from_this(), message, label = std::move(label), status](
                           beast::error_code ec, size_t) {
                         self->OnWritten(ec, label, status);
                       });
  }

  void OnWritten(beast::error_code ec, const std::string& label, int status) {
    server_.Count(label, status);
    if (in_flight_) {
      in_flight_ = false;
      server_.EndInFlight();
    }
    if (ec) return Close();
    if (!keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return Linger();
    }
    ReadHeader();
  }

  // Closing a socket with unread input makes the kernel send RST, which can destroy the
  // response (e.g. a 413) before the client has read it. So after the last response, read
  // and discard what the client still sends, for a short bounded time (as nginx's lingering
  // close does), then close.
  void Linger() {
    stream_.expires_after(kLingerTime);
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Linger();
                            });
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  // Holds the header while it is parsed, and body bytes on their way into the parser.
  beast::flat_buffer buffer_{server_.settings.max_header_bytes + 65536};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  static constexpr std::chrono::seconds kLingerTime{2};
  std::array<char, 4096> discard_{};
  bool keep_alive_ = true;
  bool in_flight_ = false;  // this session owes Stop() the end of a handler's response
};

ReadinessChecks Server::Impl::EvaluateChecks() {
  ReadinessChecks results;
  std::lock_guard lock(checks_mutex);
  for (const auto& c : checks) {
    bool ok = false;
    try {
      ok = c.check();
    } catch (...) {
      ok = false;  // a check that cannot tell is not ready
    }
    c.gauge->Set(ok ? 1.0 : 0.0);
    results.emplace_back(c.name, ok);
  }
  return results;
}

Response Server::Impl::Readiness() {
  const ReadinessChecks results = EvaluateChecks();
  bool ready = true;
  for (const auto& [name, ok] : results) ready = ready && ok;
  ReadinessDetails values;
  {
    std::lock_guard lock(checks_mutex);
    for (const auto& [name, detail] : details) {
      nlohmann::ordered_json value;  // null: a detail that cannot tell says so
      try {
        value = detail();
      } catch (...) {
        value = nullptr;
      }
      values.emplace_back(name, std::move(value));
    }
  }
  const bool is_draining = draining.load();
  const char* status = is_draining ? "draining" : (ready ? "ready" : "not ready");
  Response response;
  response.status = (ready && !is_draining) ? 200 : 503;  // details never change the status
  response.content_type = "application/json";
  response.body = ReadinessBody(status, results, values);
  return response;
}

void Server::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // stopping
      // EMFILE and friends: do not spin; the next accept is tried right away but logged.
      log::Get("http")->warn("accept failed listener={} error={}", settings.name, ec.message());
      return Accept();
    }
    // Forget sessions that ended, so the list stays as long as the open connections.
    sessions.remove_if([](const std::weak_ptr<Session>& s) { return s.expired(); });
    if (open_connections.load() >= settings.max_connections || stopping.load()) {
      // Refused at once: a short answer written without waiting, then closed. A client that
      // does not read it loses nothing but the courtesy.
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
          "Content-Length: 21\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
          "too many connections\n";
      refused_counter.Inc();
      beast::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
      return Accept();
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(std::move(socket), *this);
    sessions.push_back(session);
    session->Start();
    Accept();
  });
}

Server::Server(ServerSettings settings, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(settings), registry, draining_)) {}

Server::~Server() { Stop(); }

void Server::Handle(std::string method, std::string route_template, Handler handler) {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) throw std::logic_error("http: routes must be added before Start()");
  if (route_template.empty() || route_template.front() != '/') {
    throw std::logic_error("http: route template must start with '/': " + route_template);
  }
  Route route;
  route.method = std::move(method);
  for (const auto segment : Segments(route_template)) route.segments.emplace_back(segment);
  route.route_template = std::move(route_template);
  route.handler = std::move(handler);
  impl_->routes.push_back(std::move(route));
}

void Server::AddReadinessCheck(std::string name, std::function<bool()> check) {
  metrics::Gauge& gauge = impl_->registry.GetGauge(
      "paynotify_readiness_check",
      "Readiness checks of /readyz, by listener and check: 1 passing, 0 failing (evaluated on each "
      "/readyz and /metrics request)",
      {{"listener", impl_->settings.name}, {"check", name}});
  std::lock_guard lock(impl_->checks_mutex);
  impl_->checks.push_back(Impl::Check{std::move(name), std::move(check), &gauge});
}

void Server::AddReadinessDetail(std::string name, std::function<nlohmann::ordered_json()> detail) {
  std::lock_guard lock(impl_->checks_mutex);
  if (name == kReadinessStatusKey || name == kReadinessChecksKey) {
    throw std::logic_error("readiness detail name is taken by the body itself: " + name);
  }
  for (const auto& [existing, unused] : impl_->details) {
    if (existing == name) throw std::logic_error("readiness detail added twice: " + name);
  }
  impl_->details.emplace_back(std::move(name), std::move(detail));
}

void Server::Start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) throw std::logic_error("http server already started");
  Impl& impl = *impl_;
  const auto fail = [&](const std::string& what) {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    return std::runtime_error(fmt::format("http: cannot bind {}:{} ({})", impl.settings.host,
                                          impl.settings.port, what));
  };
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl.settings.host, ec);
  if (ec) throw fail("invalid address: " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl.settings.port));
  impl.acceptor.open(endpoint.protocol(), ec);
  if (ec) throw fail(ec.message());
  // SO_REUSEADDR only (no SO_REUSEPORT): quick restarts, but a second daemon on the same
  // port fails loudly instead of sharing it.
  impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  impl.acceptor.bind(endpoint, ec);
  if (ec) throw fail("address in use or invalid: " + ec.message());
  impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail(ec.message());
  port_.store(impl.acceptor.local_endpoint().port());
  impl.stopping.store(false);
  impl.Accept();
  std::promise<void> io_done;
  io_done_ = io_done.get_future();
  io_thread_ = std::thread([&impl, io_done = std::move(io_done)]() mutable {
    for (;;) {
      try {
        impl.io.run();
        io_done.set_value();
        return;
      } catch (const std::exception& e) {
        // Nothing in a session is meant to throw; if something does, keep serving.
        log::Get("http")->error("I/O loop error listener={} error={}; continuing",
                                impl.settings.name, text::Printable(e.what()));
      }
    }
  });
  started_ = true;
  log::Get("http")->info("listening listener={} host={} port={}", impl.settings.name,
                         impl.settings.host, port_.load());
}

void Server::Stop() noexcept {
  std::lock_guard lock(lifecycle_mutex_);
  if (!started_) return;
  started_ = false;
  Impl& impl = *impl_;
  impl.stopping.store(true);
  asio::post(impl.io, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
  {
    // Requests already with a handler finish and their responses are written.
    std::unique_lock in_flight_lock(impl.in_flight_mutex);
    impl.in_flight_done.wait_for(in_flight_lock, impl.settings.drain_timeout,
                                 [&impl] { return impl.in_flight == 0; });
  }
  asio::post(impl.io, [&impl] {
    for (auto& weak : impl.sessions) {
      if (auto session = weak.lock()) session->Close();
    }
    impl.sessions.clear();
  });
  // Closed sockets end their sessions, whose last handlers run on the I/O thread; then
  // run() has no work left and returns. If it has not within the bound (a handler still
  // running past the drain deadline keeps its session), stop the loop outright.
  impl.work_guard.reset();
  if (io_done_.wait_for(std::chrono::seconds(2)) != std::future_status::ready) impl.io.stop();
  if (io_thread_.joinable()) io_thread_.join();
  impl.workers.join();
  try {
    log::Get("http")->info("stopped listener={} port={}", impl.settings.name, port_.load());
  } catch (...) {
  }
}

}  // namespace paynotify::http

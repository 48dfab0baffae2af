#include "common/http/server.hpp"

#include <chrono>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>
#include <sys/socket.h>

#include "common/log/log.hpp"

namespace paynotify::http {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

Server::Server(ServerSettings settings, metrics::Registry& registry)
    : settings_(std::move(settings)), registry_(registry) {
  server_.set_payload_max_length(settings_.max_body_bytes);
  // An idle keep-alive connection holds a worker until this timeout, which bounds Stop().
  server_.set_keep_alive_timeout(1);
  // httplib writes a response's headers and body separately; with Nagle on, the body waits
  // for the peer's delayed ACK of the headers (~40 ms), so each worker managed ~15
  // requests/s (paynotify-bench intake: 129/s at concurrency 32, 586/s with this).
  server_.set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which would let a second daemon (or a stale
  // one) bind the same port silently; keep only SO_REUSEADDR for quick restarts.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  server_.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string checks;
    bool ready = true;
    {
      std::lock_guard lock(checks_mutex_);
      for (const auto& [name, check] : checks_) {
        bool ok = false;
        try {
          ok = check();
        } catch (...) {
          ok = false;  // a check that cannot tell is not ready
        }
        ready = ready && ok;
        if (!checks.empty()) checks += ',';
        checks += fmt::format("{}:{}", JsonString(name), ok ? "true" : "false");
      }
    }
    const bool draining = draining_.load();
    const char* status = draining ? "draining" : (ready ? "ready" : "not ready");
    res.status = (ready && !draining) ? 200 : 503;
    res.set_content(fmt::format(R"({{"status":"{}","checks":{{{}}}}})", status, checks),
                    "application/json");
  });
  server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.Render(), kMetricsContentType);
  });

  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (draining_.load() && !IsProbe(req.path)) {
          res.status = 503;
          res.set_header("Connection", "close");
          res.set_content("shutting down", "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  server_.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log::Get("http")->error("handler failed method={} path={} error={}; answered 500",
                                req.method, req.path, what);
        res.status = 500;
        res.set_content("internal error", "text/plain");
      });
  // The logger hook sees every response, including 404/413 produced inside httplib.
  server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    Count(req, res);
  });
}

Server::~Server() { Stop(); }

bool Server::IsProbe(const std::string& path) const {
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

void Server::Count(const httplib::Request& request, const httplib::Response& response) {
  // Unknown paths collapse to one label value so scanners cannot grow the series set.
  const std::string path = response.status == 404 ? "other" : request.path;
  registry_
      .GetCounter("paynotify_http_requests_total", "HTTP requests answered, by path and status.",
                  {{"path", path}, {"status", std::to_string(response.status)}})
      .Inc();
}

void Server::AddReadinessCheck(std::string name, std::function<bool()> check) {
  std::lock_guard lock(checks_mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

void Server::Start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) throw std::logic_error("http server already started");
  int port = settings_.port;
  if (port == 0) {
    port = server_.bind_to_any_port(settings_.host);
    if (port < 0) port = 0;
  } else if (!server_.bind_to_port(settings_.host, port)) {
    port = 0;
  }
  if (port <= 0) {
    throw std::runtime_error(fmt::format("http: cannot bind {}:{} (address in use or invalid)",
                                         settings_.host, settings_.port));
  }
  port_.store(port);
  started_ = true;
  listener_exited_.store(false);
  listener_ = std::thread([this] {
    server_.listen_after_bind();
    listener_exited_.store(true);
  });
  // is_running() turns true once listen_after_bind() is inside its accept loop; if the
  // thread returns first, listening failed.
  while (!server_.is_running()) {
    if (listener_exited_.load()) {
      listener_.join();
      started_ = false;
      port_.store(0);
      throw std::runtime_error(
          fmt::format("http: listener on {}:{} did not start", settings_.host, port));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  log::Get("http")->info("listening host={} port={}", settings_.host, port);
}

void Server::Stop() noexcept {
  std::lock_guard lock(lifecycle_mutex_);
  if (!started_) return;
  started_ = false;
  // stop() closes the listening socket; listen_after_bind() then shuts its worker pool down,
  // which runs every accepted request to completion before the thread returns.
  server_.stop();
  if (listener_.joinable()) listener_.join();
  try {
    log::Get("http")->info("stopped port={}", port_.load());
  } catch (...) {
  }
}

}  // namespace paynotify::http

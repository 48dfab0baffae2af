#include "tests/support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <fstream>
#include <stdexcept>

namespace paynotify::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

RawHttpConnection::RawHttpConnection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  int yes = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}

RawHttpConnection::~RawHttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawHttpConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<RawResponse> RawHttpConnection::Read(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string& data = pending_;
  bool eof = false;
  const auto fill = [&]() -> bool {  // false on timeout
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      eof = true;
      return true;
    }
    data.append(buffer, static_cast<size_t>(n));
    return true;
  };
  size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (eof || !fill()) return std::nullopt;
  }
  RawResponse response;
  const std::string head = data.substr(0, header_end);
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) return std::nullopt;
  response.status = std::stoi(head.substr(9, 3));
  size_t line_start = head.find("\r\n");
  while (line_start != std::string::npos && line_start + 2 < head.size()) {
    const size_t next = head.find("\r\n", line_start + 2);
    const std::string line = head.substr(line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers[Lower(line.substr(0, colon))] = value;
    }
    line_start = next;
  }
  size_t body_start = header_end + 4;
  if (auto it = response.headers.find("content-length"); it != response.headers.end()) {
    const size_t length = std::stoul(it->second);
    while (data.size() < body_start + length) {
      if (eof || !fill()) return std::nullopt;
    }
    response.body = data.substr(body_start, length);
    data.erase(0, body_start + length);
  } else if (response.status / 100 == 1 || response.status == 204 || response.status == 304) {
    data.erase(0, body_start);
  } else {
    while (!eof && fill()) {
    }
    response.body = data.substr(body_start);
    data.clear();
  }
  return response;
}

bool RawHttpConnection::ClosedByPeerWithin(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
  }
}

std::optional<RawResponse> RawExchange(int port, std::string_view request,
                                       std::chrono::milliseconds timeout) {
  RawHttpConnection connection(port);
  if (!connection.Send(request)) return std::nullopt;
  return connection.Read(timeout);
}

std::string RawPost(std::string_view target, std::string_view body, std::string_view extra_headers,
                    std::string_view content_type) {
  std::string out = "POST " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += std::string(extra_headers);
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

std::string RawGet(std::string_view target, std::string_view extra_headers) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) + "\r\n";
}

long RssKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace paynotify::testing

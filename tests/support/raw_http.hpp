#pragma once
// A deliberately dumb HTTP/1.1 client over a raw loopback socket, for tests that must send
// what no well-behaved client library would: trickled bytes, lying framing, bodies without a
// length, idle connections. Test-only code; the server under test is what must be robust.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace paynotify::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RawHttpConnection {
 public:
  /// Connects to 127.0.0.1:port; throws std::runtime_error if it cannot.
  explicit RawHttpConnection(int port);
  ~RawHttpConnection();
  RawHttpConnection(const RawHttpConnection&) = delete;
  RawHttpConnection& operator=(const RawHttpConnection&) = delete;

  /// Writes all bytes; false once the peer has closed or reset the connection.
  bool Send(std::string_view bytes);
  /// Reads one response (Content-Length framed, or up to EOF) within `timeout`; nullopt on
  /// timeout or when the connection ends before a status line arrived.
  std::optional<RawResponse> Read(std::chrono::milliseconds timeout);
  /// True if the server closes (EOF or reset) the connection within `timeout`; bytes it sends
  /// meanwhile are discarded.
  bool ClosedByPeerWithin(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read beyond the last response
};

/// One request on a fresh connection: Send(request) then Read(timeout).
std::optional<RawResponse> RawExchange(int port, std::string_view request,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// "POST /x HTTP/1.1\r\nHost: t\r\n" + extra headers + Content-Length + body.
std::string RawPost(std::string_view target, std::string_view body,
                    std::string_view extra_headers = "",
                    std::string_view content_type = "application/x-www-form-urlencoded");
std::string RawGet(std::string_view target, std::string_view extra_headers = "");

/// Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS); -1 if unknown.
long RssKiB(int pid);

}  // namespace paynotify::testing

#include "common/runtime/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace paynotify::runtime {
namespace {

std::atomic<int> g_abandoned{0};

bool IsNumericAddress(const std::string& host) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// What the lookup thread and the waiter share. The thread holds its own reference, so a waiter
// that gave up may go away first.
struct Lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  std::optional<ResolveResult> result;
  bool abandoned = false;  // set by the waiter when it gives up (under mutex)
};

}  // namespace

ResolveResult SystemResolve(const std::string& host) {
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;  // as rabbitmq-c asks
  struct addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) return ResolveResult{{}, ::gai_strerror(rc)};
  std::unique_ptr<struct addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);
  ResolveResult result;
  for (const struct addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (ai->ai_family == AF_INET) {
      raw = &reinterpret_cast<const struct sockaddr_in*>(ai->ai_addr)->sin_addr;
    } else if (ai->ai_family == AF_INET6) {
      raw = &reinterpret_cast<const struct sockaddr_in6*>(ai->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (::inet_ntop(ai->ai_family, raw, text, sizeof text) == nullptr) continue;
    std::string address(text);
    bool seen = false;
    for (const auto& a : result.addresses) seen = seen || a == address;
    if (!seen) result.addresses.push_back(std::move(address));
  }
  if (result.addresses.empty()) result.error = "no IPv4 or IPv6 address";
  return result;
}

ResolveResult ResolveWithDeadline(const std::string& host, std::chrono::milliseconds timeout,
                                  const BlockingResolve& resolve) {
  if (IsNumericAddress(host)) return ResolveResult{{host}, {}};
  if (g_abandoned.load() >= kMaxAbandonedLookups) {
    return ResolveResult{{}, "resolving '" + host + "': " + std::to_string(g_abandoned.load()) +
                                 " earlier lookups are still unanswered; not starting another"};
  }
  auto lookup = std::make_shared<Lookup>();
  try {
    std::thread([lookup, host, resolve] {
      ResolveResult result;
      try {
        result = resolve(host);
      } catch (const std::exception& e) {
        result = ResolveResult{{}, e.what()};
      }
      std::lock_guard lock(lookup->mutex);
      if (lookup->abandoned) {
        g_abandoned.fetch_sub(1);
        return;
      }
      lookup->result = std::move(result);
      lookup->done_cv.notify_all();
    }).detach();
  } catch (const std::exception& e) {
    return ResolveResult{{}, std::string("resolving '") + host + "': cannot start a thread: " + e.what()};
  }
  std::unique_lock lock(lookup->mutex);
  if (!lookup->done_cv.wait_for(lock, timeout, [&] { return lookup->result.has_value(); })) {
    lookup->abandoned = true;
    g_abandoned.fetch_add(1);
    return ResolveResult{{}, "resolving '" + host + "' took longer than " + std::to_string(timeout.count()) +
                                 "ms (DNS not answering?)"};
  }
  ResolveResult result = std::move(*lookup->result);
  if (!result.ok()) result.error = "resolving '" + host + "': " + result.error;
  return result;
}

int AbandonedLookups() { return g_abandoned.load(); }

}  // namespace paynotify::runtime

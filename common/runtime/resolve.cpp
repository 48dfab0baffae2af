#include "common/runtime/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace paynotify::runtime {
namespace {

bool IsNumericAddress(const std::string& host) {
  unsigned char buffer[sizeof(struct in6_addr)];
  if (::inet_pton(AF_INET, host.c_str(), buffer) == 1) return true;
  // IPv6, possibly link-local with a scope ("fe80::1%eth0"): inet_pton rejects the scope.
  const std::string address = host.substr(0, host.find('%'));
  return ::inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

// One lookup in flight, shared by its thread and every caller waiting for it.
struct Lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  std::optional<ResolveResult> result;
};

// The lookups in flight, by host name. An entry is removed by its thread when it finishes.
std::mutex g_registry_mutex;
std::map<std::string, std::shared_ptr<Lookup>>& Registry() {
  // Never destroyed: a lookup thread may still remove its entry while the process exits.
  static auto* registry = new std::map<std::string, std::shared_ptr<Lookup>>();
  return *registry;
}

void RunLookup(const std::shared_ptr<Lookup>& lookup, const std::string& host,
               const BlockingResolve& resolve) noexcept {
  ResolveResult result;
  try {
    result = resolve(host);
  } catch (const std::exception& e) {
    result.addresses.clear();
    result.error = e.what();
  } catch (...) {
    result.addresses.clear();
    result.error = "the resolver failed";
  }
  if (result.ok() && result.addresses.empty()) result.error = "no address";
  {
    std::lock_guard lock(g_registry_mutex);
    auto& registry = Registry();
    const auto it = registry.find(host);
    if (it != registry.end() && it->second == lookup) registry.erase(it);
  }
  std::lock_guard lock(lookup->mutex);
  lookup->result = std::move(result);
  lookup->done_cv.notify_all();
}

ResolveResult Error(std::string text) noexcept {
  ResolveResult r;
  try {
    r.error = std::move(text);
  } catch (...) {
  }
  if (r.error.empty()) r.error = "name resolution failed";
  return r;
}

}  // namespace

ResolveResult SystemResolve(const std::string& host) {
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;  // as rabbitmq-c and libpq ask
  struct addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) return ResolveResult{{}, ::gai_strerror(rc)};
  std::unique_ptr<struct addrinfo, decltype(&::freeaddrinfo)> owner(list, &::freeaddrinfo);
  ResolveResult result;
  for (const struct addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    char text[NI_MAXHOST] = {};
    // getnameinfo keeps an IPv6 scope ("%eth0"), which inet_ntop would drop.
    if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    std::string address(text);
    bool seen = false;
    for (const auto& a : result.addresses) seen = seen || a == address;
    if (!seen) result.addresses.push_back(std::move(address));
  }
  if (result.addresses.empty()) result.error = "no IPv4 or IPv6 address";
  return result;
}

ResolveResult ResolveWithDeadline(const std::string& host, std::chrono::milliseconds timeout,
                                  const BlockingResolve& resolve) noexcept {
  try {
    if (IsNumericAddress(host)) return ResolveResult{{host}, {}};
    std::shared_ptr<Lookup> lookup;
    {
      std::lock_guard lock(g_registry_mutex);
      auto& registry = Registry();
      if (const auto it = registry.find(host); it != registry.end()) {
        lookup = it->second;  // the same name is being looked up: wait for that one
      } else {
        if (registry.size() >= static_cast<size_t>(kMaxLookupsInFlight)) {
          return Error("resolving '" + host + "': " + std::to_string(registry.size()) +
                       " other names are still being looked up; not starting another");
        }
        lookup = std::make_shared<Lookup>();
        // The thread owns copies of everything it uses; it is started under the registry
        // lock, so a failed start leaves no entry behind.
        std::thread(RunLookup, lookup, host, resolve).detach();
        registry.emplace(host, lookup);
      }
    }
    std::unique_lock lock(lookup->mutex);
    if (!lookup->done_cv.wait_for(lock, timeout, [&] { return lookup->result.has_value(); })) {
      return Error("resolving '" + host + "' took longer than " + std::to_string(timeout.count()) +
                   "ms (DNS not answering?)");
    }
    ResolveResult result = *lookup->result;
    if (!result.ok()) result.error = "resolving '" + host + "': " + result.error;
    return result;
  } catch (const std::exception& e) {
    return Error(std::string("resolving a host name: ") + e.what());
  } catch (...) {
    return Error("resolving a host name failed");
  }
}

int LookupsInFlight() {
  std::lock_guard lock(g_registry_mutex);
  return static_cast<int>(Registry().size());
}

}  // namespace paynotify::runtime

#pragma once
/// Host name resolution with a deadline.
///
/// getaddrinfo() has no timeout. During a container restart, Docker's and podman's DNS no
/// longer know the stopped container's name; seen in the compose check (issue 13): a daemon's
/// reconnect sat 17-40 s inside getaddrinfo("rabbitmq") (glibc polling its nameserver 5 s per
/// try), and its shutdown, which joins that thread, overran the 30 s grace period and was
/// SIGKILLed. ResolveWithDeadline bounds the wait; a lookup that overruns is left to finish on
/// its own thread, never waited for.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace paynotify::runtime {

/// Outcome of a lookup: the host's addresses as numeric strings ("10.89.0.4", "::1",
/// "fe80::1%eth0") in the resolver's order, or an error text (then `addresses` is empty).
struct ResolveResult {
  std::vector<std::string> addresses;
  std::string error;
  bool ok() const { return error.empty(); }
};

/// A blocking lookup (tests inject their own). The default is getaddrinfo (TCP, any family),
/// whose failures read as gai_strerror's text.
using BlockingResolve = std::function<ResolveResult(const std::string& host)>;
ResolveResult SystemResolve(const std::string& host);

/// Resolves `host`, waiting at most `timeout`.
/// - A numeric address (IPv4, or IPv6 with an optional %scope) is returned as it is, without a
///   lookup or a thread.
/// - Otherwise the lookup runs on a thread of its own. At most one lookup per host name is in
///   flight: a caller asking for a name already being looked up waits for that same lookup
///   (until its own deadline) instead of starting another, so a name whose DNS hangs holds one
///   thread, however many connections retry it, and never delays any other name.
/// - When the lookup has not answered within `timeout` the caller gets an error ("resolving
///   'h' took longer than 5000ms ...") and the lookup finishes on its own; its thread holds no
///   reference to the caller. A later call after it finished starts a fresh lookup (no caching:
///   a container's address may change with its restart).
/// - At most kMaxLookupsInFlight different names are looked up at once (a sanity bound: names
///   come from configuration); beyond it a new name fails at once.
/// Never throws. Thread-safe.
ResolveResult ResolveWithDeadline(const std::string& host, std::chrono::milliseconds timeout,
                                  const BlockingResolve& resolve = SystemResolve) noexcept;

inline constexpr int kMaxLookupsInFlight = 16;

/// Lookups whose thread has not finished yet (for tests and diagnostics).
int LookupsInFlight();

}  // namespace paynotify::runtime

#pragma once
/// Host name resolution with a deadline.
///
/// getaddrinfo() has no timeout. During a container restart, Docker's and podman's DNS no
/// longer know the stopped container's name and forward it upstream; on a machine whose
/// upstream does not answer, glibc then waits 5 s per query and attempt. Seen in the compose
/// check (issue 13): a daemon's reconnect sat 20-40 s inside getaddrinfo("rabbitmq"), and its
/// shutdown, which joins that thread, overran the 30 s grace period and was SIGKILLed.
/// ResolveWithDeadline bounds the wait; a lookup that overruns is abandoned, not waited for.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace paynotify::runtime {

/// Outcome of a lookup: the host's addresses as numeric strings ("10.89.0.4", "::1") in the
/// resolver's order, or an error text (then `addresses` is empty).
struct ResolveResult {
  std::vector<std::string> addresses;
  std::string error;
  bool ok() const { return error.empty(); }
};

/// A blocking lookup (tests inject their own). The default is getaddrinfo (SOCK_STREAM, any
/// family), whose failures read as gai_strerror's text.
using BlockingResolve = std::function<ResolveResult(const std::string& host)>;
ResolveResult SystemResolve(const std::string& host);

/// Resolves `host`, waiting at most `timeout`. A numeric address (IPv4 or IPv6) is returned
/// as it is, without a lookup or a thread. Otherwise the lookup runs on a detached thread: when
/// it has not answered within `timeout`, the caller gets an error ("resolving 'h' took longer
/// than 5000ms") and the thread finishes on its own (its result is dropped; it holds no
/// reference to the caller). At most kMaxAbandonedLookups such threads exist at a time: beyond
/// that a lookup fails at once instead of adding one. Never throws (a thread that cannot be
/// started is an error result). Thread-safe.
ResolveResult ResolveWithDeadline(const std::string& host, std::chrono::milliseconds timeout,
                                  const BlockingResolve& resolve = SystemResolve);

inline constexpr int kMaxAbandonedLookups = 4;

/// Lookups given up on whose thread has not finished yet (for tests and diagnostics).
int AbandonedLookups();

}  // namespace paynotify::runtime

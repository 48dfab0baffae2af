#pragma once

#include <chrono>

namespace paynotify::runtime {

/// Capped exponential back-off: attempt 1 waits `initial`, each further attempt multiplies
/// by `multiplier`, never more than `max`. (Spring's listener.retry.initial-interval /
/// multiplier / max-interval.) A value type; no validation beyond what DelayForAttempt clamps.
struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  double multiplier{2.0};
  std::chrono::milliseconds max{30000};
};

/// Delay before retry number `attempt` (1-based): attempt <= 1 -> initial, then
/// initial * multiplier^(attempt-1), capped at max. Never negative, never overflows
/// (huge attempts give max). A multiplier below 1 is treated as 1. Pure function.
std::chrono::milliseconds DelayForAttempt(const BackoffPolicy& policy, int attempt);

/// Stateful helper over DelayForAttempt for a reconnect loop: Next() returns the delay for
/// the next attempt (initial first) and counts it; Reset() after a success starts over.
/// Not thread-safe (one per worker loop).
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy) : policy_(policy) {}

  /// The delay to wait now; advances the attempt counter.
  std::chrono::milliseconds Next();
  /// Back to the first attempt (call after something succeeded).
  void Reset() { attempt_ = 0; }
  /// Number of Next() calls since construction or the last Reset().
  int Attempts() const { return attempt_; }
  const BackoffPolicy& Policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  int attempt_ = 0;
};

}  // namespace paynotify::runtime

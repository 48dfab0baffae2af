#pragma once
/// Retry policy of a consumer (Spring's listener.retry.*): how long a failed message waits
/// before its next attempt and when it is given up on.
#include <optional>
#include <string>
#include <string_view>

#include "common/consumer/disposition.hpp"
#include "common/runtime/backoff.hpp"

namespace paynotify::consumer {

struct RetryPolicy {
  runtime::BackoffPolicy backoff;  ///< initial-interval, multiplier, max-interval
  int max_attempts = 5;            ///< total attempts including the first delivery (>= 1)
};

/// After attempt `failed_attempt` (1-based) failed with `error`: a kRetry disposition
/// (delay = DelayForAttempt(failed_attempt), attempt = failed_attempt + 1) while attempts
/// remain, nullopt when `failed_attempt >= max_attempts` (the caller dead-letters). Pure.
std::optional<Disposition> NextRetry(const RetryPolicy& policy, int failed_attempt, std::string error);

/// NextRetry, or when no attempt remains a kDeadLetter with `exhausted_reason` (one of the
/// handler's declared reasons), `error` and attempts = `failed_attempt`. Pure.
Disposition RetryOrDeadLetter(const RetryPolicy& policy, int failed_attempt, std::string error,
                              std::string_view exhausted_reason = reason::kRetriesExhausted);

}  // namespace paynotify::consumer

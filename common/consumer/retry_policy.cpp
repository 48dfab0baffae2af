#include "common/consumer/retry_policy.hpp"

namespace paynotify::consumer {

std::optional<Disposition> NextRetry(const RetryPolicy& policy, int failed_attempt, std::string error) {
  if (failed_attempt < 1) failed_attempt = 1;
  if (failed_attempt >= policy.max_attempts) return std::nullopt;
  return Disposition::Retry(runtime::DelayForAttempt(policy.backoff, failed_attempt), failed_attempt + 1,
                            std::move(error));
}

Disposition RetryOrDeadLetter(const RetryPolicy& policy, int failed_attempt, std::string error,
                              std::string_view exhausted_reason) {
  if (auto retry = NextRetry(policy, failed_attempt, error)) return std::move(*retry);
  return Disposition::DeadLetter(std::string(exhausted_reason), std::move(error), failed_attempt < 1 ? 1 : failed_attempt);
}

}  // namespace paynotify::consumer

#include "learning-service/consumer/retry_policy.hpp"

namespace paynotify::learning {

std::optional<Disposition> NextRetry(const RetryPolicy& policy, int failed_attempt, std::string error) {
  if (failed_attempt < 1) failed_attempt = 1;
  if (failed_attempt >= policy.max_attempts) return std::nullopt;
  return Disposition::Retry(runtime::DelayForAttempt(policy.backoff, failed_attempt), failed_attempt + 1,
                            std::move(error));
}

}  // namespace paynotify::learning

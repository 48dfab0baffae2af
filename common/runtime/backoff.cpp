#include "common/runtime/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace paynotify::runtime {

std::chrono::milliseconds DelayForAttempt(const BackoffPolicy& policy, int attempt) {
  const double initial = static_cast<double>(std::max<int64_t>(0, policy.initial.count()));
  const double cap = static_cast<double>(std::max<int64_t>(0, policy.max.count()));
  const double multiplier = std::max(1.0, policy.multiplier);
  const int exponent = std::max(0, attempt - 1);
  // Computed in double so a large attempt count saturates at +inf instead of overflowing.
  const double raw = initial * std::pow(multiplier, exponent);
  const double capped = std::min(raw, cap);
  if (!std::isfinite(capped)) return std::chrono::milliseconds{static_cast<int64_t>(cap)};
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(capped))};
}

std::chrono::milliseconds Backoff::Next() {
  if (attempt_ < std::numeric_limits<int>::max()) ++attempt_;
  return DelayForAttempt(policy_, attempt_);
}

}  // namespace paynotify::runtime

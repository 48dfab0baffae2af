#include "common/log/log_budget.hpp"

#include <algorithm>

namespace paynotify::log {

LogBudget::LogBudget(double per_second, double burst)
    : per_second_(per_second), burst_(burst), tokens_(burst) {}

std::optional<uint64_t> LogBudget::Take(TimePoint now) {
  std::lock_guard lock(mutex_);
  if (last_ && now > *last_) {
    const double elapsed = std::chrono::duration<double>(now - *last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
  }
  if (!last_ || now > *last_) last_ = now;
  if (tokens_ < 1.0) {
    ++suppressed_;
    return std::nullopt;
  }
  tokens_ -= 1.0;
  const uint64_t suppressed = suppressed_;
  suppressed_ = 0;
  return suppressed;
}

}  // namespace paynotify::log

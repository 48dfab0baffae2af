#include "common/metrics/windowed_counter.hpp"

#include <algorithm>
#include <stdexcept>

namespace paynotify::metrics {

WindowedCounter::WindowedCounter(const runtime::Clock& clock, std::chrono::milliseconds window,
                                 size_t buckets)
    : clock_(clock), window_(window), slice_(buckets == 0 ? window : window / static_cast<int64_t>(buckets)) {
  if (window.count() <= 0 || buckets == 0 || slice_.count() <= 0) {
    throw std::invalid_argument("WindowedCounter: the window must be positive and hold its buckets (>= 1 ms each)");
  }
  counts_.assign(buckets, 0);
  newest_slice_ = SliceOf(clock_.Now());
}

int64_t WindowedCounter::SliceOf(std::chrono::steady_clock::time_point now) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() / slice_.count();
}

void WindowedCounter::Expire(int64_t slice) const {
  if (slice <= newest_slice_) return;  // the monotonic clock never goes back; same slice: nothing to do
  const auto size = static_cast<int64_t>(counts_.size());
  // Every slice after the newest one held, up to `slice`, starts empty (at most one lap).
  const int64_t first = std::max(newest_slice_ + 1, slice - size + 1);
  for (int64_t s = first; s <= slice; ++s) counts_[static_cast<size_t>(s % size)] = 0;
  newest_slice_ = slice;
}

void WindowedCounter::Add(uint64_t amount) {
  const int64_t slice = SliceOf(clock_.Now());
  std::lock_guard lock(mutex_);
  Expire(slice);
  counts_[static_cast<size_t>(newest_slice_ % static_cast<int64_t>(counts_.size()))] += amount;
}

uint64_t WindowedCounter::Sum() const {
  const int64_t slice = SliceOf(clock_.Now());
  std::lock_guard lock(mutex_);
  Expire(slice);
  uint64_t sum = 0;
  for (uint64_t c : counts_) sum += c;
  return sum;
}

}  // namespace paynotify::metrics

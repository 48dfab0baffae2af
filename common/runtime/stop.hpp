#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace paynotify::runtime {

/// Sleeps for `duration` or until stop is requested on `token`, whichever comes first.
/// Returns true if the full duration elapsed, false if stop was requested (also when it was
/// already requested on entry: then it returns at once). Wakes immediately on
/// request_stop() (condition_variable_any + stop_callback), never sleeps through a stop.
/// Thread-safe; any number of threads may sleep on the same token.
inline bool SleepFor(std::stop_token token, std::chrono::milliseconds duration) {
  if (token.stop_requested()) return false;
  if (duration <= std::chrono::milliseconds::zero()) return true;
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  // The stop_token overload of wait_for registers its own stop_callback and re-checks the
  // predicate, so a request_stop() racing with entry is not lost.
  const bool stopped = cv.wait_for(lock, token, duration, [] { return false; });
  (void)stopped;
  return !token.stop_requested();
}

}  // namespace paynotify::runtime

#pragma once
// CommitGate: holds the first commit that reaches it until Open(), so that payment
// notifications queue behind it deterministically (group commit tests, unit and integration).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace paynotify::order::testing {

class CommitGate {
 public:
  /// Blocks the first caller until Open(); later callers pass at once.
  void Hold() {
    if (used_.exchange(true)) return;
    std::unique_lock lock(mutex_);
    held_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  /// Waits (at most 5 s) until a commit is held. False on timeout.
  bool WaitHeld() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return held_; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::atomic<bool> used_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool open_ = false;
};

}  // namespace paynotify::order::testing

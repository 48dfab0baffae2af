#include "common/pg/pool.hpp"

#include <algorithm>
#include <string>

namespace paynotify::pg {

ConnectionPool::ConnectionPool(PgSettings settings, size_t size, ConnectionHolder::OnConnect on_connect)
    : settings_(std::move(settings)), size_(std::max<size_t>(1, size)), on_connect_(std::move(on_connect)) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ == nullptr || !holder_) return;  // moved from
  {
    std::lock_guard lock(pool_->mutex_);
    pool_->idle_.push_back(std::move(holder_));
  }
  pool_->available_.notify_one();
}

ConnectionPool::Lease ConnectionPool::Acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, timeout, [&] { return !idle_.empty() || created_ < size_; })) {
    throw PoolTimeout("no database connection free within " + std::to_string(timeout.count()) +
                      "ms (pool size " + std::to_string(size_) + ")");
  }
  if (!idle_.empty()) {
    auto holder = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(holder));
  }
  ++created_;
  return Lease(*this, std::make_unique<ConnectionHolder>(settings_, on_connect_));
}

}  // namespace paynotify::pg

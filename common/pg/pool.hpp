#pragma once
/// A small blocking pool of ConnectionHolders for request threads (each holder connects
/// lazily and runs `on_connect`, e.g. to prepare statements, on every new connection).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "common/pg/connection.hpp"
#include "common/pg/settings.hpp"

namespace paynotify::pg {

/// No pooled connection became free within the caller's timeout. Classify() calls it
/// transient: the database is busy, trying again later will do.
class PoolTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// At most `size` holders (at least 1), created on demand. Thread-safe. Holders are never
/// destroyed before the pool; a holder whose connection was lost is returned like any other
/// (Translate() has dropped the connection, so the next Get() reconnects).
class ConnectionPool {
 public:
  ConnectionPool(PgSettings settings, size_t size, ConnectionHolder::OnConnect on_connect = {});

  /// A holder lent to one thread until the lease is destroyed. Movable; destroy it before
  /// the pool.
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<ConnectionHolder> holder)
        : pool_(&pool), holder_(std::move(holder)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    ConnectionHolder& operator*() { return *holder_; }
    ConnectionHolder* operator->() { return holder_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<ConnectionHolder> holder_;
  };

  /// Waits up to `timeout` for a free holder; throws PoolTimeout after that.
  Lease Acquire(std::chrono::milliseconds timeout);

 private:
  PgSettings settings_;
  size_t size_;
  ConnectionHolder::OnConnect on_connect_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<ConnectionHolder>> idle_;
  size_t created_ = 0;
};

}  // namespace paynotify::pg

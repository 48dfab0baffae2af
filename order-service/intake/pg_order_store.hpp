#pragma once
/// OrderStore over PostgreSQL (libpqxx 6.4): xc_orders, xc_pay_record and the mq_message
/// outbox in the orders database. Each payment transaction is ONE pqxx::work: lock the pay
/// record FOR UPDATE, update it and the order, insert the outbox row, pg_notify the relay,
/// commit — so a notification answered "success" has its message in the outbox. A second
/// payment for a paid record is kept in xc_pay_conflict (sql/orders/002_pay_conflict.sql).
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/pg/connection.hpp"
#include "common/pg/settings.hpp"
#include "order-service/intake/order_store.hpp"

namespace paynotify::order {

/// A small blocking pool of pg::ConnectionHolders (each connects lazily, with the store's
/// prepared statements). Thread-safe.
class PgConnectionPool {
 public:
  PgConnectionPool(pg::PgSettings settings, size_t size, pg::ConnectionHolder::OnConnect on_connect);

  /// A holder lent to one thread until the lease is destroyed.
  class Lease {
   public:
    Lease(PgConnectionPool& pool, std::unique_ptr<pg::ConnectionHolder> holder)
        : pool_(&pool), holder_(std::move(holder)) {}
    Lease(Lease&&) = default;
    ~Lease();
    pg::ConnectionHolder& operator*() { return *holder_; }
    pg::ConnectionHolder* operator->() { return holder_.get(); }

   private:
    PgConnectionPool* pool_;
    std::unique_ptr<pg::ConnectionHolder> holder_;
  };

  /// Waits up to `timeout` for a free holder; throws StoreError(kUnavailable) after that.
  Lease Acquire(std::chrono::milliseconds timeout);

 private:
  pg::PgSettings settings_;
  size_t size_;
  pg::ConnectionHolder::OnConnect on_connect_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pg::ConnectionHolder>> idle_;
  size_t created_ = 0;
};

/// Thread-safe (a pool of connections; one per call or transaction).
class PgOrderStore final : public OrderStore {
 public:
  /// `notify_channel` is the relay's LISTEN channel (relay.notify-channel). Connects lazily.
  PgOrderStore(pg::PgSettings settings, size_t pool_size, std::string notify_channel);

  std::unique_ptr<PaymentTransaction> BeginPayment() override;
  OrderRef CreateOrGetOrder(const NewOrder& order) override;
  std::optional<PaymentRow> FindPayment(int64_t pay_no) override;

 private:
  PgConnectionPool pool_;
  std::string notify_channel_;
};

/// Runs `f`, translating libpqxx failures into StoreError via pg::Classify (transient and
/// in-doubt -> kUnavailable, duplicate -> kConflict, others -> kInternal), invalidating the
/// holder's connection when it was lost.
StoreError TranslatePgError(const std::exception& error, pg::ConnectionHolder* holder);

}  // namespace paynotify::order

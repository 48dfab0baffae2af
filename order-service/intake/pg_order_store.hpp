#pragma once
/// OrderStore over PostgreSQL (libpqxx 6.4): xc_orders, xc_pay_record and the mq_message
/// outbox in the orders database. A payment is ONE transaction: on the fast path one
/// statement (updates the pay record and the order, inserts the outbox row, pg_notify's the
/// relay; it commits by itself), on the locking path one pqxx::work (lock the pay record FOR
/// UPDATE, then the same writes, commit) — so a notification answered "success" has its
/// message in the outbox. A second payment for a paid record is kept in xc_pay_conflict
/// (sql/orders/002_pay_conflict.sql).
#include <memory>
#include <string>

#include "common/pg/pool.hpp"
#include "common/pg/settings.hpp"
#include "order-service/intake/order_store.hpp"

namespace paynotify::order {

/// Thread-safe (a pool of connections; one per call or transaction). Failures are translated
/// by pg::Translate (the connection is dropped when it was lost) and mapped to StoreError:
/// transient (connection lost, server unreachable, deadlock, no pooled connection free) and
/// in-doubt commits -> kUnavailable (503: the platform retries, and the retry sees either the
/// paid record or an unpaid one); duplicate -> kConflict; anything else -> kInternal. The
/// StoreError's text is the database's (pg::Describe): for the log, never for the client.
class PgOrderStore final : public OrderStore {
 public:
  /// `notify_channel` is the relay's LISTEN channel (relay.notify-channel). Connects lazily.
  PgOrderStore(pg::PgSettings settings, size_t pool_size, std::string notify_channel);

  std::unique_ptr<PaymentTransaction> BeginPayment() override;
  std::vector<PayOutcome> PayIfPayable(const std::vector<PayAttempt>& attempts,
                                       std::string_view message_type) override;
  OrderRef CreateOrGetOrder(const NewOrder& order) override;
  std::optional<PaymentRow> FindPayment(int64_t pay_no) override;

 private:
  pg::ConnectionPool pool_;
  std::string notify_channel_;
};

}  // namespace paynotify::order

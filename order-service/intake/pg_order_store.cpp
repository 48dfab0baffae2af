#include "order-service/intake/pg_order_store.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "common/pg/array_literal.hpp"
#include "common/pg/failure.hpp"
#include "order-service/intake/amount.hpp"

namespace paynotify::order {

namespace {

using namespace std::chrono_literals;

// How long a request waits for a pooled connection before answering 503.
constexpr auto kAcquireTimeout = 5s;

// order-service's policy over the one translation (pg::Translate).
StoreError ToStoreError(const pg::Failure& failure) {
  switch (failure.kind) {
    case pg::ErrorKind::kTransient:
      return StoreError(StoreError::Kind::kUnavailable, failure.detail);
    case pg::ErrorKind::kInDoubt:
      // The commit may or may not have happened: answer 503 so the platform retries; the
      // retry sees either the paid record (success, no effect) or an unpaid one (applies it).
      return StoreError(StoreError::Kind::kUnavailable, "commit outcome unknown: " + failure.detail);
    case pg::ErrorKind::kDuplicate:
      return StoreError(StoreError::Kind::kConflict, failure.detail);
    case pg::ErrorKind::kPermanent:
      break;
  }
  return StoreError(StoreError::Kind::kInternal, failure.detail);
}

// A lease on a pooled connection, or the StoreError for not getting one in time.
pg::ConnectionPool::Lease Acquire(pg::ConnectionPool& pool) {
  try {
    return pool.Acquire(kAcquireTimeout);
  } catch (const pg::PoolTimeout& e) {
    throw ToStoreError(pg::Translate(e));
  }
}

// Pay record with its order, as the handlers see them. numeric::text is exact ("12.30").
constexpr std::string_view kPaymentColumns = R"(
  p.pay_no, p.order_id, p.status, o.status, p.total_price::text, p.user_id,
  o.out_business_id, o.order_type, p.out_pay_no,
  to_char(p.pay_success_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))";

// Locks both rows the notification changes; concurrent notifications for one payment queue
// here, and the later ones see status 601002 and commit nothing.
constexpr std::chrono::milliseconds kLockTimeout{5000};
constexpr std::string_view kLockPayment = R"(
  SELECT {} FROM xc_pay_record p JOIN xc_orders o ON o.id = p.order_id
  WHERE p.pay_no = $1 FOR UPDATE)";
// The group form (group commit): every pay record of the group in one statement, locked in
// pay_no order so that two groups, or a group and a single notification, do not deadlock on
// the pay records (through an order with several pay records they still can; PostgreSQL
// detects it, 40P01 is transient, and the group falls back to one by one).
constexpr std::string_view kLockPayments = R"(
  SELECT {} FROM xc_pay_record p JOIN xc_orders o ON o.id = p.order_id
  WHERE p.pay_no = ANY($1::bigint[]) ORDER BY p.pay_no FOR UPDATE)";
constexpr std::string_view kFindPayment = R"(
  SELECT {} FROM xc_pay_record p JOIN xc_orders o ON o.id = p.order_id
  WHERE p.pay_no = $1)";
// Marks the pay record and the order paid, inserts the outbox row and signals the relay: one
// statement, so one round trip instead of four (each costs both processes syscalls and a
// wake-up; on the 2-core bench machine they were most of order-service's CPU). The NOTIFY is
// delivered to listeners only when (and if) the transaction commits.
//   $1 pay_no, $2 trade_no, $3 pay channel, $4 order id,
//   $5..$8 message_type, business_key1..3, $9 the relay's channel
constexpr std::string_view kMarkPaid = R"(
  WITH pay AS (
    UPDATE xc_pay_record SET status = '601002', out_pay_no = $2, out_pay_channel = $3,
           pay_success_time = now()
    WHERE pay_no = $1
  ), ord AS (
    UPDATE xc_orders SET status = '600002' WHERE id = $4
  ), msg AS (
    INSERT INTO mq_message (message_type, business_key1, business_key2, business_key3)
    VALUES ($5, $6, $7, $8) RETURNING id, message_id::text AS message_id
  )
  SELECT id, message_id, pg_notify($9, '') FROM msg)";
// kMarkPaid for a whole group: one statement over arrays, one NOTIFY. Each outbox row gets
// its message_id here (not from the column default) so the rows returned can be matched to
// their items whatever order RETURNING gives them in; `items` is referenced several times,
// so it is materialised once (and gen_random_uuid() called once per item).
//   $1 pay_nos, $2 trade_nos, $3 pay channels, $4 order ids, $5 message types,
//   $6..$8 business keys 1..3 (NULL elements allowed), $9 the relay's channel
constexpr std::string_view kMarkPaidMany = R"(
  WITH items AS (
    SELECT t.*, gen_random_uuid() AS message_id
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                $7::text[], $8::text[]) WITH ORDINALITY
      AS t(pay_no, trade_no, pay_channel, order_id, message_type, key1, key2, key3, pos)
  ), pay AS (
    UPDATE xc_pay_record p SET status = '601002', out_pay_no = i.trade_no,
           out_pay_channel = i.pay_channel, pay_success_time = now()
    FROM items i WHERE p.pay_no = i.pay_no
  ), ord AS (
    UPDATE xc_orders o SET status = '600002' FROM items i WHERE o.id = i.order_id
  ), msg AS (
    INSERT INTO mq_message (message_id, message_type, business_key1, business_key2, business_key3)
    SELECT message_id, message_type, key1, key2, key3 FROM items ORDER BY pos
    RETURNING id, message_id
  )
  SELECT m.id, m.message_id::text, (SELECT pg_notify($9, ''))
  FROM msg m JOIN items i ON i.message_id = m.message_id ORDER BY i.pos)";
// A second payment (issue 10): one row per (pay_no, trade_no); a repeat counts itself on it.
// times_received = 1 exactly when this statement inserted the row.
//   $1 pay_no, $2 trade_no, $3 recorded trade_no, $4 pay status, $5 amount, $6 trade_status,
//   $7 notification summary
constexpr std::string_view kRecordConflict = R"(
  INSERT INTO xc_pay_conflict (pay_no, trade_no, recorded_trade_no, pay_status, total_amount,
                               trade_status, notification)
  VALUES ($1, $2, $3, $4, $5::numeric, $6, $7)
  ON CONFLICT (pay_no, trade_no) DO UPDATE
    SET times_received = xc_pay_conflict.times_received + 1, last_received_at = now()
  RETURNING times_received)";
// Idempotent per out_business_id: a concurrent second insert waits for the first to commit,
// then does nothing; the read below sees the committed order either way.
constexpr std::string_view kInsertOrder = R"(
  INSERT INTO xc_orders (total_price, user_id, order_type, order_name, order_descrip,
                         order_detail, out_business_id)
  VALUES ($1::numeric, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (out_business_id) DO NOTHING
  RETURNING id)";
constexpr std::string_view kInsertPayRecord = R"(
  INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id)
  VALUES (nextval('xc_pay_no_seq'), $1, $2, $3::numeric, $4))";
constexpr std::string_view kOrderWithLatestPayment = R"(
  SELECT {} FROM xc_orders o JOIN xc_pay_record p ON p.order_id = o.id
  WHERE o.out_business_id = $1 ORDER BY p.id DESC LIMIT 1)";

void Prepare(pqxx::connection& conn) {
  // A row lock held elsewhere (an operator's open transaction, a Java job, a backend whose
  // client vanished) must not hold a request, and with group commit every request queued
  // behind its group, for longer than this: lock_not_available (55P03) is transient, so
  // the group falls back and the blocked notification is answered 503 (the platform retries).
  pqxx::nontransaction(conn).exec0(fmt::format("SET lock_timeout = '{}ms'", kLockTimeout.count()));
  conn.prepare("order_lock_payment", fmt::format(fmt::runtime(kLockPayment), kPaymentColumns));
  conn.prepare("order_lock_payments", fmt::format(fmt::runtime(kLockPayments), kPaymentColumns));
  conn.prepare("order_mark_paid_many", std::string(kMarkPaidMany));
  conn.prepare("order_find_payment", fmt::format(fmt::runtime(kFindPayment), kPaymentColumns));
  conn.prepare("order_mark_paid", std::string(kMarkPaid));
  conn.prepare("order_record_conflict", std::string(kRecordConflict));
  conn.prepare("order_insert_order", std::string(kInsertOrder));
  conn.prepare("order_insert_pay_record", std::string(kInsertPayRecord));
  conn.prepare("order_with_latest_payment",
               fmt::format(fmt::runtime(kOrderWithLatestPayment), kPaymentColumns));
}

const char* NullableText(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

// {"a",NULL,"b"}: pg::ArrayLiteral's quoting, with NULL for an absent value.
std::string NullableArrayLiteral(const std::vector<std::optional<std::string>>& values) {
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ',';
    if (!values[i]) {
      text += "NULL";
      continue;
    }
    const std::string one = pg::ArrayLiteral(std::span<const std::string>(&*values[i], 1));
    text.append(one, 1, one.size() - 2);  // without its braces
  }
  return text + "}";
}

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

PaymentRow ToPaymentRow(const pqxx::row& row) {
  PaymentRow p;
  p.pay_no = row[0].as<int64_t>();
  p.order_id = row[1].as<int64_t>();
  p.status = row[2].as<std::string>();
  p.order_status = row[3].as<std::string>();
  const std::string price = row[4].as<std::string>();
  const AmountParse amount = ParseAmount(price);
  if (!amount.cents) {
    throw StoreError(StoreError::Kind::kInternal,
                     fmt::format("pay record {} has an unexpected total_price '{}'", p.pay_no, price));
  }
  p.total_cents = *amount.cents;
  p.user_id = row[5].as<std::string>();
  p.out_business_id = row[6].as<std::string>();
  p.order_type = row[7].as<std::string>();
  p.out_pay_no = OptionalText(row[8]);
  p.pay_success_time = OptionalText(row[9]);
  return p;
}

/// One payment transaction: a lease on a connection plus a pqxx::work on it.
class PgPaymentTransaction final : public PaymentTransaction {
 public:
  PgPaymentTransaction(pg::ConnectionPool::Lease lease, std::string notify_channel)
      : lease_(std::move(lease)), notify_channel_(std::move(notify_channel)) {
    Guard([&] { work_ = std::make_unique<pqxx::work>(lease_->Get(), "paynotify"); });
  }
  // Uncommitted: rolled back by pqxx (best effort, noexcept).
  ~PgPaymentTransaction() override = default;

  std::optional<PaymentRow> LockPayment(int64_t pay_no) override {
    std::optional<PaymentRow> row;
    Guard([&] {
      const pqxx::result r = work_->exec_prepared("order_lock_payment", pay_no);
      if (!r.empty()) row = ToPaymentRow(r[0]);
    });
    return row;
  }

  std::vector<PaymentRow> LockPayments(const std::vector<int64_t>& pay_nos) override {
    std::vector<PaymentRow> rows;
    Guard([&] {
      const pqxx::result r = work_->exec_prepared("order_lock_payments", pg::ArrayLiteral(pay_nos));
      rows.reserve(r.size());
      for (const auto& row : r) rows.push_back(ToPaymentRow(row));
    });
    return rows;
  }

  std::vector<OutboxRowRef> MarkPaidMany(const std::vector<PaidItem>& items) override {
    std::vector<OutboxRowRef> refs;
    Guard([&] {
      std::vector<int64_t> pay_nos, order_ids;
      std::vector<std::string> trade_nos, channels, types;
      std::vector<std::optional<std::string>> key1, key2, key3;
      for (const PaidItem& item : items) {
        pay_nos.push_back(item.update.pay_no);
        order_ids.push_back(item.update.order_id);
        trade_nos.push_back(item.update.trade_no);
        channels.push_back(item.update.pay_channel);
        types.push_back(item.message.message_type);
        key1.push_back(item.message.business_key1);
        key2.push_back(item.message.business_key2);
        key3.push_back(item.message.business_key3);
      }
      const pqxx::result r = work_->exec_prepared(
          "order_mark_paid_many", pg::ArrayLiteral(pay_nos), pg::ArrayLiteral(trade_nos),
          pg::ArrayLiteral(channels), pg::ArrayLiteral(order_ids), pg::ArrayLiteral(types),
          NullableArrayLiteral(key1), NullableArrayLiteral(key2), NullableArrayLiteral(key3),
          notify_channel_);
      if (r.size() != items.size()) {
        throw StoreError(StoreError::Kind::kInternal,
                         fmt::format("group mark-paid inserted {} outbox rows for {} payments", r.size(),
                                     items.size()));
      }
      refs.reserve(r.size());
      for (const auto& row : r) refs.push_back(OutboxRowRef{row[0].as<int64_t>(), row[1].as<std::string>()});
    });
    return refs;
  }

  OutboxRowRef MarkPaid(const PaidUpdate& update, const OutboxInsert& message) override {
    OutboxRowRef ref;
    Guard([&] {
      const pqxx::row row = work_->exec_prepared1(
          "order_mark_paid", update.pay_no, update.trade_no, update.pay_channel, update.order_id,
          message.message_type, NullableText(message.business_key1), NullableText(message.business_key2),
          NullableText(message.business_key3), notify_channel_);
      ref.id = row[0].as<int64_t>();
      ref.message_id = row[1].as<std::string>();
    });
    return ref;
  }

  bool RecordConflict(const PayConflict& conflict) override {
    bool inserted = false;
    Guard([&] {
      const pqxx::row row = work_->exec_prepared1(
          "order_record_conflict", conflict.pay_no, conflict.trade_no,
          NullableText(conflict.recorded_trade_no), conflict.pay_status,
          FormatAmount(conflict.total_amount_cents), conflict.trade_status, conflict.notification);
      inserted = row[0].as<int>() == 1;
    });
    return inserted;
  }

  void Commit() override {
    Guard([&] { work_->commit(); });
  }

 private:
  // Runs one step of the transaction. After a failure the transaction is dead (the port's
  // contract): it is rolled back at once, so that the translator may drop a lost connection.
  template <class F>
  void Guard(F&& f) {
    if (failed_) throw StoreError(StoreError::Kind::kInternal, "payment transaction used after a failure");
    try {
      f();
    } catch (const std::exception& e) {
      failed_ = true;
      work_.reset();
      if (const auto* store_error = dynamic_cast<const StoreError*>(&e)) throw *store_error;
      throw ToStoreError(pg::Translate(e, *lease_));
    }
  }

  pg::ConnectionPool::Lease lease_;
  std::string notify_channel_;
  std::unique_ptr<pqxx::work> work_;
  bool failed_ = false;
};

}  // namespace

PgOrderStore::PgOrderStore(pg::PgSettings settings, size_t pool_size, std::string notify_channel)
    : pool_(std::move(settings), pool_size, Prepare), notify_channel_(std::move(notify_channel)) {}

std::unique_ptr<PaymentTransaction> PgOrderStore::BeginPayment() {
  return std::make_unique<PgPaymentTransaction>(Acquire(pool_), notify_channel_);
}

OrderRef PgOrderStore::CreateOrGetOrder(const NewOrder& order) {
  auto lease = Acquire(pool_);
  try {
    pqxx::work work(lease->Get(), "paynotify_create_order");
    const std::string amount = FormatAmount(order.total_cents);
    const pqxx::result inserted = work.exec_prepared(
        "order_insert_order", amount, order.user_id, order.order_type, order.order_name,
        NullableText(order.order_descrip), order.order_detail, order.out_business_id);
    const bool created = !inserted.empty();
    if (created) {
      work.exec_prepared0("order_insert_pay_record", inserted[0][0].as<int64_t>(), order.order_name,
                          amount, order.user_id);
    }
    const pqxx::result row = work.exec_prepared("order_with_latest_payment", order.out_business_id);
    if (row.empty()) {
      throw StoreError(StoreError::Kind::kInternal,
                       fmt::format("order for out_business_id {} has no pay record", order.out_business_id));
    }
    OrderRef ref{created, ToPaymentRow(row[0])};
    work.commit();
    return ref;
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw ToStoreError(pg::Translate(e, *lease));
  }
}

std::optional<PaymentRow> PgOrderStore::FindPayment(int64_t pay_no) {
  auto lease = Acquire(pool_);
  try {
    pqxx::read_transaction tx(lease->Get(), "paynotify_find_payment");
    const pqxx::result r = tx.exec_prepared("order_find_payment", pay_no);
    if (r.empty()) return std::nullopt;
    return ToPaymentRow(r[0]);
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw ToStoreError(pg::Translate(e, *lease));
  }
}

}  // namespace paynotify::order

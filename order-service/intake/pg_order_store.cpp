#include "order-service/intake/pg_order_store.hpp"

#include <pqxx/pqxx>

#include <optional>
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

// The locking path: locks both rows the notification changes; a later notification for the
// same payment waits here (or in the fast path's UPDATE) and then sees status 601002.
constexpr std::chrono::milliseconds kLockTimeout{5000};
constexpr std::string_view kLockPayment = R"(
  SELECT {} FROM xc_pay_record p JOIN xc_orders o ON o.id = p.order_id
  WHERE p.pay_no = $1 FOR UPDATE)";
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
// The fast path (PayIfPayable): kMarkPaid for a whole group, one statement over arrays with
// one NOTIFY, and no lock taken before it. A record is paid only if it is unpaid with the
// notification's exact amount (what OrderIntake::Decide calls kPay); a record a concurrent
// transaction holds is waited for and then checked again as that one left it (READ
// COMMITTED re-checks an UPDATE's condition on the row's newest version). Sent alone, so the
// statement is its own transaction: one round trip instead of four (BEGIN, lock, mark,
// COMMIT), each a wake-up of both processes. Each outbox row gets its message_id in `items`
// (materialised once, so gen_random_uuid() runs once per item) to match rows to items.
// The outbox row's keys come from the order (the payment result's contract: business_key1
// the course selection, business_key2 the order type; see OrderIntake::PaidItemFor).
// Every item gets a row: the record as the statement's snapshot read it ({} = kPaymentColumns;
// before this statement's own change) and, when paid, its order and outbox row. A paid item
// without its outbox row cannot happen (both come from `pay`), but if it ever did, the
// division by zero fails the whole statement before it commits anything.
// Pay records are updated in no set order: two such statements over the same records may
// deadlock, PostgreSQL aborts one (40P01, transient), and its group falls back one by one.
//   $1 pay_nos, $2 trade_nos, $3 pay channels, $4 amounts, $5 message type, $6 the relay's channel
constexpr std::string_view kPayIfPayable = R"(
  WITH items AS (
    SELECT t.*, gen_random_uuid() AS message_id
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::numeric[]) WITH ORDINALITY
      AS t(pay_no, trade_no, pay_channel, amount, pos)
  ), pay AS (
    UPDATE xc_pay_record p SET status = '601002', out_pay_no = i.trade_no,
           out_pay_channel = i.pay_channel, pay_success_time = now()
    FROM items i
    WHERE p.pay_no = i.pay_no AND p.status = '601001' AND p.total_price = i.amount
    RETURNING p.pay_no, p.order_id, i.pos, i.message_id
  ), ord AS (
    UPDATE xc_orders o SET status = '600002' FROM pay WHERE o.id = pay.order_id
  ), msg AS (
    INSERT INTO mq_message (message_id, message_type, business_key1, business_key2, business_key3)
    SELECT pay.message_id, $5, o.out_business_id, o.order_type, NULL
    FROM pay JOIN xc_orders o ON o.id = pay.order_id ORDER BY pay.pos
    RETURNING id, message_id
  )
  SELECT {}, i.pos, pay.order_id, m.id, m.message_id::text,
         1 / (pay.pos IS NULL OR m.id IS NOT NULL)::int,
         (SELECT pg_notify($6, '') WHERE EXISTS (SELECT 1 FROM msg))
  FROM items i
  LEFT JOIN pay ON pay.pos = i.pos
  LEFT JOIN msg m ON m.message_id = pay.message_id
  LEFT JOIN xc_pay_record p ON p.pay_no = i.pay_no
  LEFT JOIN xc_orders o ON o.id = p.order_id
  ORDER BY i.pos)";
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
  conn.prepare("order_pay_if_payable", fmt::format(fmt::runtime(kPayIfPayable), kPaymentColumns));
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

std::vector<PayOutcome> PgOrderStore::PayIfPayable(const std::vector<PayAttempt>& attempts,
                                                    std::string_view message_type) {
  std::vector<int64_t> pay_nos;
  std::vector<std::string> trade_nos, channels, amounts;
  for (const PayAttempt& attempt : attempts) {
    pay_nos.push_back(attempt.pay_no);
    trade_nos.push_back(attempt.trade_no);
    channels.push_back(attempt.pay_channel);
    amounts.push_back(FormatAmount(attempt.amount_cents));
  }
  auto lease = Acquire(pool_);
  try {
    // nontransaction: no BEGIN/COMMIT around it, the statement commits by itself.
    const pqxx::result r = pqxx::nontransaction(lease->Get(), "paynotify_pay").exec_prepared(
        "order_pay_if_payable", pg::ArrayLiteral(pay_nos), pg::ArrayLiteral(trade_nos),
        pg::ArrayLiteral(channels), pg::ArrayLiteral(amounts), std::string(message_type), notify_channel_);
    if (r.size() != attempts.size()) {
      throw StoreError(StoreError::Kind::kInternal,
                       fmt::format("pay statement answered {} rows for {} payments", r.size(), attempts.size()));
    }
    // Columns: kPaymentColumns (10), then position, order id, outbox id, message_id.
    std::vector<PayOutcome> outcomes(attempts.size());
    for (size_t i = 0; i < r.size(); ++i) {
      const pqxx::row row = r[static_cast<pqxx::result::size_type>(i)];
      if (row[10].as<int64_t>() != static_cast<int64_t>(i + 1)) {
        throw StoreError(StoreError::Kind::kInternal, "pay statement answered out of order");
      }
      if (!row[11].is_null()) {
        outcomes[i].paid = PaidRef{row[11].as<int64_t>(), OutboxRowRef{row[12].as<int64_t>(), row[13].as<std::string>()}};
      } else if (!row[0].is_null()) {
        outcomes[i].record = ToPaymentRow(row);
      }
    }
    return outcomes;
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw ToStoreError(pg::Translate(e, *lease));
  }
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

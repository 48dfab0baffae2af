#include "bench/raw_limits.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/topology.hpp"
#include "common/messages/mq_message.hpp"
#include "common/pg/array_literal.hpp"
#include "tests/support/pg_exec.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::bench {

namespace t = paynotify::testing;
using namespace std::chrono_literals;

double ParallelPg(const std::string& db, int n, int threads,
                  const std::function<void(pqxx::connection&)>& prepare,
                  const std::function<void(pqxx::connection&, int)>& work) {
  std::vector<std::unique_ptr<pqxx::connection>> conns;
  for (int i = 0; i < threads; ++i) {
    conns.push_back(std::make_unique<pqxx::connection>(t::PgConnString(db)));
    prepare(*conns.back());
  }
  std::atomic<int> next{0};
  std::mutex error_mutex;
  std::string first_error;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int w = 0; w < threads; ++w) {
    pool.emplace_back([&, w] {
      try {
        for (int i = next++; i < n; i = next++) work(*conns[w], i);
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e.what();
        next = n;
      }
    });
  }
  for (auto& th : pool) th.join();
  const double elapsed = Seconds(Clock::now() - start);
  if (!first_error.empty()) throw std::runtime_error("raw transaction failed: " + first_error);
  return elapsed;
}

// ---- the two raw transactions --------------------------------------------------------------

// The order transaction exactly as order-service runs it (order-service/intake/pg_order_store.cpp).
constexpr const char* kRawLockPayment =
    "SELECT p.pay_no, p.order_id, p.status, o.status, p.total_price::text, p.user_id,"
    " o.out_business_id, o.order_type, p.out_pay_no, to_char(p.pay_success_time AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM xc_pay_record p JOIN xc_orders o ON o.id = p.order_id"
    " WHERE p.pay_no = $1 FOR UPDATE";
// Due in a day: a relay running elsewhere must not publish the bench's raw rows.
constexpr const char* kRawMarkPaid =
    "WITH pay AS (UPDATE xc_pay_record SET status = '601002', out_pay_no = $2, out_pay_channel = $3,"
    " pay_success_time = now() WHERE pay_no = $1),"
    " ord AS (UPDATE xc_orders SET status = '600002' WHERE id = $4),"
    " msg AS (INSERT INTO mq_message (message_type, business_key1, business_key2, business_key3, next_attempt_at)"
    " VALUES ($5, $6, $7, $8, now() + interval '1 day') RETURNING id, message_id::text AS message_id)"
    " SELECT id, message_id, pg_notify($9, '') FROM msg";
constexpr const char* kRawDeleteOutbox = "DELETE FROM mq_message WHERE id = $1";

// The consumer transaction for ONE message, as the issue defines the raw limit: the same
// statements learning-service runs (learning-service/enrollment/pg_enrollment_repository.cpp)
// in their one-row form; learning-service itself runs them set-based over a whole batch.
constexpr const char* kRawInsertInbox = "INSERT INTO processed_message (message_key) VALUES ($1) ON CONFLICT DO NOTHING";
constexpr const char* kRawLockSelection = "SELECT status FROM xc_choose_course WHERE id = $1 FOR UPDATE";
constexpr const char* kRawMarkSelected =
    "UPDATE xc_choose_course SET status = '701001', validtime_start = now(), "
    "validtime_end = now() + make_interval(days => valid_days) WHERE id = $1 AND status = '701002'";
constexpr const char* kRawAddCourseTable =
    "INSERT INTO xc_course_tables (choose_course_id, user_id, course_id, company_id, course_name, "
    "course_type, create_date, validtime_start, validtime_end, update_date) "
    "SELECT id, user_id, course_id, company_id, course_name, order_type, now(), "
    "COALESCE(validtime_start, now()), COALESCE(validtime_end, now() + make_interval(days => valid_days)), now() "
    "FROM xc_choose_course WHERE id = $1 ON CONFLICT DO NOTHING";

void PrepareOrder(pqxx::connection& c) {
  c.prepare("lock_payment", kRawLockPayment);
  c.prepare("mark_paid", kRawMarkPaid);
  c.prepare("delete_outbox", kRawDeleteOutbox);
}

void PrepareConsumer(pqxx::connection& c) {
  c.prepare("insert_inbox", kRawInsertInbox);
  c.prepare("lock_selection", kRawLockSelection);
  c.prepare("mark_selected", kRawMarkSelected);
  c.prepare("add_course_table", kRawAddCourseTable);
}

std::vector<int64_t> CreateRawOrders(const std::string& tag, int n) {
  return t::FirstColumn(t::ExecCommitted(
      t::OrdersDb(),
      "WITH o AS (INSERT INTO xc_orders (total_price, user_id, order_type, order_name, out_business_id)"
      " SELECT 9.90, 'bench', '60201', 'bench course', $1 || '-' || g FROM generate_series(1, $2) g RETURNING id)"
      " INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id)"
      " SELECT nextval('xc_pay_no_seq'), id, 'bench course', 9.90, 'bench' FROM o RETURNING pay_no",
      tag, n));
}

int64_t RawOrderTransaction(pqxx::connection& c, int64_t pay_no, const std::string& tag, bool delete_outbox) {
  int64_t outbox_id = 0;
  {
    pqxx::work tx(c);
    const pqxx::result p = tx.exec_prepared("lock_payment", pay_no);
    if (p.empty() || p[0][2].as<std::string>() != "601001") throw std::runtime_error("raw order: pay record not unpaid");
    const int64_t order_id = p[0][1].as<int64_t>();
    const pqxx::row row = tx.exec_prepared1("mark_paid", pay_no, "2026" + std::to_string(pay_no), "Alipay", order_id,
                                            "payresult_notify", p[0][6].as<std::string>(), "60201", tag,
                                            "bench_" + tag.substr(0, 40));
    outbox_id = row[0].as<int64_t>();
    tx.commit();
  }
  if (delete_outbox) {
    pqxx::work tx(c);
    tx.exec_prepared0("delete_outbox", outbox_id);
    tx.commit();
  }
  return outbox_id;
}

void RawConsumerTransaction(pqxx::connection& c, const std::string& key, int64_t selection) {
  pqxx::work tx(c);
  if (tx.exec_prepared("insert_inbox", key).affected_rows() == 0) throw std::runtime_error("raw consumer: key seen twice");
  if (tx.exec_prepared("lock_selection", selection).empty()) throw std::runtime_error("raw consumer: selection missing");
  tx.exec_prepared("mark_selected", selection);
  tx.exec_prepared("add_course_table", selection);
  tx.commit();
}

void CheckRawOrders(const std::string& tag, int n, bool deleted) {
  pqxx::connection conn(t::PgConnString(t::OrdersDb()));
  pqxx::work tx(conn);
  const int64_t paid = tx.exec_params1(
      "SELECT count(*) FROM xc_orders WHERE out_business_id LIKE $1 || '-%' AND status = '600002'", tag)[0].as<int64_t>();
  const int64_t outbox = tx.exec_params1("SELECT count(*) FROM mq_message WHERE business_key3 = $1", tag)[0].as<int64_t>();
  tx.exec_params0("DELETE FROM mq_message WHERE business_key3 = $1", tag);
  tx.commit();
  Require(paid == n, "raw order transaction: " + std::to_string(paid) + " of " + std::to_string(n) + " orders paid");
  Require(outbox == (deleted ? 0 : n), "raw order transaction: " + std::to_string(outbox) + " outbox rows, expected " +
                                           std::to_string(deleted ? 0 : n));
}

void CheckRawConsumer(const std::vector<int64_t>& selections, const std::string& tag) {
  pqxx::connection conn(t::PgConnString(t::LearningDb()));
  pqxx::work tx(conn);
  const std::string ids = pg::ArrayLiteral(selections);
  const int64_t paid = tx.exec_params1(
      "SELECT count(*) FROM xc_choose_course WHERE id = ANY($1::bigint[]) AND status = '701001'", ids)[0].as<int64_t>();
  const int64_t rows = tx.exec_params1(
      "SELECT count(*) FROM xc_course_tables WHERE choose_course_id = ANY($1::bigint[])", ids)[0].as<int64_t>();
  const int64_t inbox = tx.exec_params1(
      "SELECT count(*) FROM processed_message WHERE message_key LIKE $1 || '-%'", tag)[0].as<int64_t>();
  const auto n = static_cast<int64_t>(selections.size());
  Require(paid == n && rows == n && inbox == n,
          "raw consumer transaction: selections_paid=" + std::to_string(paid) + " course_rows=" +
              std::to_string(rows) + " inbox=" + std::to_string(inbox) + " expected " + std::to_string(n));
}

double RawOrderRate(int n, int connections, Figures& f, const std::string& prefix) {
  const std::string tag = t::UniqueName("bench-rawo");
  const auto pay_nos = CreateRawOrders(tag, n);
  const double s = ParallelPg(t::OrdersDb(), n, connections, PrepareOrder,
                              [&](pqxx::connection& c, int i) { RawOrderTransaction(c, pay_nos[i], tag, false); });
  CheckRawOrders(tag, n, false);
  f.Set(prefix + "raw_order_tx_per_s", n / s, "1/s");
  return n / s;
}

double RawConsumerRate(e2e::PaySystem& sys, int k, int connections, Figures& f, const std::string& prefix) {
  const std::string tag = t::UniqueName("bench-rawc");
  const auto selections = sys.CreateSelections(k);
  const double s = ParallelPg(t::LearningDb(), k, connections, PrepareConsumer, [&](pqxx::connection& c, int i) {
    RawConsumerTransaction(c, tag + "-" + std::to_string(i), selections[i]);
  });
  CheckRawConsumer(selections, tag);
  f.Set(prefix + "raw_consumer_tx_per_s", k / s, "1/s");
  return k / s;
}

amqp::OutgoingMessage BenchMessage(const std::string& exchange, const std::string& routing_key, int64_t id,
                                   int64_t selection, const std::string& message_id) {
  amqp::OutgoingMessage m;
  m.exchange = exchange;
  m.routing_key = routing_key;
  m.body = messages::EncodeMqMessage(messages::MqMessage{.id = id,
                                                         .message_type = std::string(messages::kPaymentResultType),
                                                         .business_key1 = std::to_string(selection),
                                                         .business_key2 = "60201",
                                                         .business_key3 = std::nullopt});
  m.message_id = message_id;
  m.type = std::string(messages::kPaymentResultType);
  m.app_id = std::string(messages::kAppIdOrderService);
  m.timestamp_s = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  return m;
}

double RawPublishRate(int k, Figures& f, const std::string& prefix, const std::string& queue_type) {
  const std::string queue = t::UniqueName("bench.rawpub");
  auto conn = amqp::Connection::Open(BrokerSettings("paynotify-bench-topology"));
  amqp::DeclareQueue(*conn, amqp::QueueSpec{.name = queue, .queue_type = queue_type});
  std::vector<amqp::OutgoingMessage> batch;
  batch.reserve(k);
  for (int i = 0; i < k; ++i) batch.push_back(BenchMessage("", queue, i + 1, i + 1, queue + "-" + std::to_string(i)));
  amqp::ConfirmPublisher publisher(BrokerSettings("paynotify-bench-publisher"), 1000);
  publisher.PublishBatch(std::span(batch.data(), std::min<size_t>(1, batch.size())), 10s);  // connect outside the clock
  const auto start = Clock::now();
  const auto outcomes = publisher.PublishBatch(std::span(batch.data() + 1, batch.size() - 1), 60s);
  const double s = Seconds(Clock::now() - start);
  publisher.Close();
  const auto confirmed = std::count(outcomes.begin(), outcomes.end(), amqp::PublishOutcome::kConfirmed);
  const uint32_t in_queue = amqp::MessageCount(*conn, queue);
  amqp::DeleteQueue(*conn, queue);
  Require(confirmed == k - 1 && in_queue == static_cast<uint32_t>(k),
          "raw publish: confirmed=" + std::to_string(confirmed + 1) + " in_queue=" + std::to_string(in_queue) +
              " expected " + std::to_string(k));
  f.Set(prefix + "raw_publish_msg_per_s", (k - 1) / s, "1/s");
  return (k - 1) / s;
}

}  // namespace paynotify::bench

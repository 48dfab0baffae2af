// paynotify-bench — the real daemons against the local PostgreSQL and RabbitMQ, measured side
// by side with the raw limits of the same servers in the same run (issue 6).
//
//   paynotify-bench <e2e|relay|consumer|intake|limits|all|smoke> [--n N] [--k K]
//                   [--concurrency C] [--connections P] [--runs R] [--json FILE]
//
// Needs `eval "$(scripts/infra env)"` (the servers must be up). Every scenario checks at the
// end that everything was applied and nothing twice, and exits 1 if not.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/proc_stats.hpp"
#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/topology.hpp"
#include "common/messages/mq_message.hpp"
#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::bench {

namespace t = paynotify::testing;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::string scenario;
  int n = 20000;         // e2e / intake payments
  int k = 100000;        // relay / consumer / limits messages
  int concurrency = 32;  // HTTP connections
  int connections = 16;  // raw PostgreSQL connections
  int runs = 1;
  double rate = 0;  // e2e: paced notifications per second (0 = as fast as the concurrency allows)
  std::string json_path;
  std::map<std::string, std::string> env;  // --env KEY=VALUE: extra daemon settings (both daemons)
};

/// The daemons' environment for a scenario: its own overrides, then --env on top.
std::map<std::string, std::string> DaemonEnv(const Options& o, std::map<std::string, std::string> base = {}) {
  for (const auto& [k, v] : o.env) base[k] = v;
  return base;
}

/// A failed correctness check: the run is not a result.
struct CheckFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void Require(bool ok, const std::string& what) {
  if (!ok) throw CheckFailed("CHECK FAILED: " + what);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// One run's figures, in insertion order, with units.
struct Figures {
  std::vector<std::pair<std::string, std::string>> order;  // name, unit
  std::map<std::string, double> values;
  void Set(const std::string& name, double value, const std::string& unit) {
    if (!values.contains(name)) order.emplace_back(name, unit);
    values[name] = value;
  }
};

amqp::BrokerSettings BrokerSettings(const std::string& name) { return e2e::TestBrokerSettings(name, 30); }

using e2e::BigintArray;
using e2e::TextArray;

int64_t CountOne(const std::string& db, const std::string& sql, const std::string& param) {
  pqxx::connection conn(t::PgConnString(db));
  pqxx::work tx(conn);
  return tx.exec_params1(sql, param)[0].as<int64_t>();
}

/// Runs work(conn, i) for i in [0, n) on `threads` threads, each with its own connection
/// to `db` prepared by `prepare`. Returns the wall time.
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

// ---- CPU / memory accounting over an interval ----------------------------------------------

struct CpuSnapshot {
  std::map<std::string, double> seconds;  // "order-service", "learning-service", "postgres", "rabbitmq"
};

CpuSnapshot TakeCpu(pid_t order_pid, pid_t learning_pid) {
  CpuSnapshot s;
  if (order_pid > 0) s.seconds["order-service"] = ProcessCpuSeconds(order_pid);
  if (learning_pid > 0) s.seconds["learning-service"] = ProcessCpuSeconds(learning_pid);
  s.seconds["postgres"] = ServerCpuSeconds("postgres");
  s.seconds["rabbitmq"] = ServerCpuSeconds("beam.smp");
  return s;
}

void AddCpuFigures(Figures& f, const CpuSnapshot& before, const CpuSnapshot& after, int items) {
  for (const auto& [name, value] : after.seconds) {
    const auto it = before.seconds.find(name);
    const double delta = value - (it == before.seconds.end() ? 0 : it->second);
    f.Set("cpu_s_per_1000_" + name, delta * 1000.0 / items, "CPU s");
  }
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

/// Orders + unpaid pay records made directly in SQL for the raw order transaction; returns pay_nos.
std::vector<int64_t> CreateRawOrders(const std::string& tag, int n) {
  pqxx::connection conn(t::PgConnString(t::OrdersDb()));
  pqxx::work tx(conn);
  const auto r = tx.exec_params(
      "WITH o AS (INSERT INTO xc_orders (total_price, user_id, order_type, order_name, out_business_id)"
      " SELECT 9.90, 'bench', '60201', 'bench course', $1 || '-' || g FROM generate_series(1, $2) g RETURNING id)"
      " INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id)"
      " SELECT nextval('xc_pay_no_seq'), id, 'bench course', 9.90, 'bench' FROM o RETURNING pay_no",
      tag, n);
  tx.commit();
  std::vector<int64_t> pay_nos;
  for (const auto& row : r) pay_nos.push_back(row[0].as<int64_t>());
  return pay_nos;
}

/// One unpaid order + pay record per selection (out_business_id = the selection id), made in
/// SQL as POST /orders would make them: creating orders is not what the bench measures, and
/// over HTTP it takes longer than the measurement on this machine. Returns the pay_nos.
std::vector<int64_t> CreateOrdersSql(const std::vector<int64_t>& selections) {
  pqxx::connection conn(t::PgConnString(t::OrdersDb()));
  pqxx::work tx(conn);
  const auto r = tx.exec_params(
      "WITH o AS (INSERT INTO xc_orders (total_price, user_id, order_type, order_name, order_descrip, out_business_id)"
      " SELECT 9.90, 'bench-' || s, '60201', 'bench course', 'bench', s::text FROM unnest($1::bigint[]) s"
      " RETURNING id, out_business_id, user_id),"
      " p AS (INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id)"
      " SELECT nextval('xc_pay_no_seq'), id, 'bench course', 9.90, user_id FROM o RETURNING pay_no, order_id)"
      " SELECT p.pay_no, o.out_business_id FROM p JOIN o ON o.id = p.order_id",
      BigintArray(selections));
  tx.commit();
  std::map<std::string, int64_t> by_selection;
  for (const auto& row : r) by_selection[row[1].as<std::string>()] = row[0].as<int64_t>();
  std::vector<int64_t> pay_nos;
  for (int64_t s : selections) pay_nos.push_back(by_selection.at(std::to_string(s)));
  return pay_nos;
}

/// One order transaction (as order-service's), optionally followed by the relay's delete of
/// the outbox row in its own transaction. Returns the outbox id.
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

/// Checks the raw order transactions: every pay record paid, exactly one outbox row each
/// (deleted ones excepted); then removes the bench's outbox rows.
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
  const std::string ids = BigintArray(selections);
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

/// The bench's own publisher: K persistent messages with confirms, 1,000 outstanding, into a
/// fresh queue of its own (default exchange). Returns messages/s.
double RawPublishRate(int k, Figures& f, const std::string& prefix) {
  const std::string queue = t::UniqueName("bench.rawpub");
  auto conn = amqp::Connection::Open(BrokerSettings("paynotify-bench-topology"));
  amqp::DeclareQueue(*conn, amqp::QueueSpec{.name = queue});
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

// ---- latency -------------------------------------------------------------------------------

/// Commit-to-apply latency per payment in ms: xc_course_tables.create_date (learning db) minus
/// xc_pay_record.pay_success_time (orders db); both are now() of their transaction, one clock.
std::vector<double> Latencies(const std::vector<int64_t>& selections, double* first_pay_epoch, double* last_apply_epoch) {
  std::map<std::string, double> paid_at;
  {
    pqxx::connection conn(t::PgConnString(t::OrdersDb()));
    pqxx::work tx(conn);
    for (const auto& row : tx.exec_params(
             "SELECT o.out_business_id, extract(epoch from p.pay_success_time)::float8 FROM xc_orders o"
             " JOIN xc_pay_record p ON p.order_id = o.id WHERE o.out_business_id = ANY($1::text[]) AND p.status = '601002'",
             TextArray(selections))) {
      paid_at[row[0].as<std::string>()] = row[1].as<double>();
    }
  }
  std::vector<double> ms;
  *first_pay_epoch = 1e300;
  *last_apply_epoch = 0;
  for (const auto& [key, at] : paid_at) *first_pay_epoch = std::min(*first_pay_epoch, at);
  pqxx::connection conn(t::PgConnString(t::LearningDb()));
  pqxx::work tx(conn);
  for (const auto& row : tx.exec_params(
           "SELECT choose_course_id::text, extract(epoch from create_date)::float8 FROM xc_course_tables"
           " WHERE choose_course_id = ANY($1::bigint[])",
           BigintArray(selections))) {
    const auto it = paid_at.find(row[0].as<std::string>());
    if (it == paid_at.end()) continue;
    const double applied = row[1].as<double>();
    *last_apply_epoch = std::max(*last_apply_epoch, applied);
    ms.push_back((applied - it->second) * 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

/// Course-table rows whose selection id lies between the selections' smallest and largest id:
/// the progress poll. The selections come from one INSERT, so their ids are one range, and a
/// range scan of the unique index costs PostgreSQL ~1% of matching a K-element array every
/// poll (which took ~14 ms at K = 5,000 and competed with what is being measured). The exact
/// per-selection check runs once, after the poll.
int64_t CourseRowsInRange(pqxx::connection& conn, const std::vector<int64_t>& selections) {
  const auto [lo, hi] = std::minmax_element(selections.begin(), selections.end());
  pqxx::work tx(conn);
  return tx.exec_params1("SELECT count(*) FROM xc_course_tables WHERE choose_course_id BETWEEN $1 AND $2", *lo, *hi)[0]
      .as<int64_t>();
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

// ---- scenarios -----------------------------------------------------------------------------

Figures ScenarioE2e(const Options& o) {
  Figures f;
  e2e::PaySystem sys("bench-e2e", 1, 1, DaemonEnv(o), DaemonEnv(o));
  const auto selections = sys.CreateSelections(o.n);
  sys.StartAll();
  const auto pay_nos = CreateOrdersSql(selections);
  const pid_t order_pid = sys.OrderPid(0), learning_pid = sys.LearningPid(0);
  const auto forms = sys.SignNotifications(pay_nos, 1);  // the platform's work: before the clock
  const auto cpu_before = TakeCpu(order_pid, learning_pid);
  const double t0 = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto start = Clock::now();
  // --rate paces the notifications (each worker sends item i at start + i/rate).
  const int ok = sys.SendNotifications(forms, o.concurrency, 600s, o.rate);
  const double intake_s = Seconds(Clock::now() - start);
  // Light polling while the pipeline drains; the full check once after.
  pqxx::connection poll(t::PgConnString(t::LearningDb()));
  t::WaitFor([&] { return CourseRowsInRange(poll, selections) >= o.n; }, 600s, 100ms);
  const auto cpu_after = TakeCpu(order_pid, learning_pid);
  f.Set("peak_rss_order_service_mib", PeakRssMiB(order_pid), "MiB");
  f.Set("peak_rss_learning_service_mib", PeakRssMiB(learning_pid), "MiB");
  const e2e::Convergence c = sys.WaitConverged(selections, 120s);
  Require(ok == o.n, "e2e: " + std::to_string(ok) + " of " + std::to_string(o.n) + " notifications answered success");
  Require(c.Done(), "e2e: " + c.Describe());
  double first_pay = 0, last_apply = 0;
  const auto lat = Latencies(selections, &first_pay, &last_apply);
  Require(static_cast<int>(lat.size()) == o.n, "e2e: latency rows " + std::to_string(lat.size()));
  f.Set("intake_per_s", o.n / intake_s, "1/s");
  f.Set("applied_per_s", o.n / (last_apply - t0), "1/s");
  f.Set("latency_p50_ms", Percentile(lat, 0.50), "ms");
  f.Set("latency_p90_ms", Percentile(lat, 0.90), "ms");
  f.Set("latency_p99_ms", Percentile(lat, 0.99), "ms");
  f.Set("latency_max_ms", lat.back(), "ms");
  AddCpuFigures(f, cpu_before, cpu_after, o.n);
  return f;
}

Figures ScenarioRelay(const Options& o) {
  Figures f;
  const double raw = RawPublishRate(o.k, f, "");
  // The production default keep-history=false: confirmed rows are deleted. The system has
  // its own exchange; our own queue bound to it receives what the relay publishes.
  e2e::PaySystem sys("bench-relay", 1, 0, DaemonEnv(o, {{"PAYNOTIFY_RELAY_KEEP_HISTORY", "false"}}));
  const std::string tag = t::UniqueName("bench-relay");
  const std::string queue = tag;
  auto conn = amqp::Connection::Open(BrokerSettings("paynotify-bench-topology"));
  amqp::DeclareExchange(*conn, amqp::ExchangeSpec{.name = sys.Exchange()});
  amqp::DeclareQueue(*conn, amqp::QueueSpec{.name = queue});
  amqp::BindQueue(*conn, queue, sys.Exchange());
  struct QueueCleanup {
    amqp::Connection& c;
    std::string q;
    ~QueueCleanup() {
      try {
        amqp::DeleteQueue(c, q);
      } catch (...) {
      }
    }
  } cleanup{*conn, queue};
  struct OutboxCleanup {  // a failed run must not leave its rows for the next relay
    std::string tag;
    ~OutboxCleanup() {
      try {
        pqxx::connection pg(t::PgConnString(t::OrdersDb()));
        pqxx::work tx(pg);
        tx.exec_params0("DELETE FROM mq_message WHERE business_key3 = $1", tag);
        tx.commit();
      } catch (...) {
      }
    }
  } outbox_cleanup{tag};
  int64_t foreign = 0;
  {
    pqxx::connection pg(t::PgConnString(t::OrdersDb()));
    pqxx::work tx(pg);
    // Rows someone else left due in the shared outbox are published too: allowed for below.
    foreign = tx.exec1("SELECT count(*) FROM mq_message WHERE next_attempt_at <= now() + interval '1 hour'")[0].as<int64_t>();
    tx.exec_params0(
        "INSERT INTO mq_message (message_type, business_key1, business_key2, business_key3)"
        " SELECT 'payresult_notify', g::text, 'bench', $1 FROM generate_series(1, $2) g",
        tag, o.k);
    tx.commit();
  }
  const auto cpu_before = TakeCpu(-1, -1);
  const auto start = Clock::now();
  sys.StartOrder(0);
  const pid_t pid = sys.OrderPid(0);
  pqxx::connection pg(t::PgConnString(t::OrdersDb()));
  uint32_t in_queue = 0;
  int64_t left = -1;
  const bool drained = t::WaitFor(
      [&] {
        in_queue = amqp::MessageCount(*conn, queue);
        if (in_queue < static_cast<uint32_t>(o.k)) return false;
        pqxx::work tx(pg);
        left = tx.exec_params1("SELECT count(*) FROM mq_message WHERE business_key3 = $1", tag)[0].as<int64_t>();
        return left == 0;
      },
      900s, 20ms);
  const double s = Seconds(Clock::now() - start);
  auto cpu_after = TakeCpu(-1, -1);
  const double order_cpu = ProcessCpuSeconds(pid);  // the process started inside the interval
  f.Set("peak_rss_order_service_mib", PeakRssMiB(pid), "MiB");
  Require(drained, "relay: outbox left=" + std::to_string(left) + " in_queue=" + std::to_string(in_queue));
  // Exactly K (plus any foreign rows that were due): a row published twice would show as a
  // message beyond that.
  const uint32_t final_count = amqp::MessageCount(*conn, queue);
  Require(final_count >= static_cast<uint32_t>(o.k) && final_count <= static_cast<uint32_t>(o.k + foreign),
          "relay: queue holds " + std::to_string(final_count) + ", expected " + std::to_string(o.k) +
              (foreign ? " (+ up to " + std::to_string(foreign) + " foreign rows)" : ""));
  f.Set("relay_foreign_rows_published", final_count - o.k, "msgs");
  f.Set("relay_drain_msg_per_s", o.k / s, "1/s");
  f.Set("relay_vs_raw_publish", (o.k / s) / raw, "ratio");
  f.Set("cpu_s_per_1000_order-service", order_cpu * 1000.0 / o.k, "CPU s");
  AddCpuFigures(f, cpu_before, cpu_after, o.k);
  return f;
}

Figures ScenarioConsumer(const Options& o) {
  Figures f;
  e2e::PaySystem sys("bench-consumer", 0, 1, {}, DaemonEnv(o));
  // Start once to declare the queue (and its retry/dead-letter queues), then stop: the queue
  // is filled while no consumer runs.
  sys.StartLearning(0);
  Require(sys.StopLearning(0) == 0, "consumer: learning-service did not stop cleanly");
  const std::string tag = t::UniqueName("bench-cons");
  const auto selections = sys.CreateSelections(o.k);
  {
    std::vector<amqp::OutgoingMessage> batch;
    batch.reserve(o.k);
    for (int i = 0; i < o.k; ++i) {
      batch.push_back(BenchMessage("", sys.Queue(), i + 1, selections[i], tag + "-" + std::to_string(i)));
    }
    amqp::ConfirmPublisher publisher(BrokerSettings("paynotify-bench-fill"), 1000);
    const auto outcomes = publisher.PublishBatch(batch, 120s);
    Require(std::count(outcomes.begin(), outcomes.end(), amqp::PublishOutcome::kConfirmed) == o.k,
            "consumer: pre-fill not confirmed");
  }
  const auto cpu_before = TakeCpu(-1, -1);
  sys.StartLearning(0);
  const pid_t pid = sys.LearningPid(0);
  pqxx::connection poll(t::PgConnString(t::LearningDb()));
  const bool done = t::WaitFor([&] { return CourseRowsInRange(poll, selections) >= o.k; }, 900s, 50ms);
  const std::string ids = BigintArray(selections);
  const auto cpu_after = TakeCpu(-1, -1);
  const double learning_cpu = ProcessCpuSeconds(pid);
  f.Set("peak_rss_learning_service_mib", PeakRssMiB(pid), "MiB");
  Require(done, "consumer: not all applied within 900s");
  // The apply rate from the database's own timestamps: first to last course row.
  double span = 0;
  {
    pqxx::work tx(poll);
    span = tx.exec_params1("SELECT extract(epoch from max(create_date) - min(create_date))::float8 FROM xc_course_tables"
                           " WHERE choose_course_id = ANY($1::bigint[])", ids)[0].as<double>();
    const int64_t paid = tx.exec_params1(
        "SELECT count(*) FROM xc_choose_course WHERE id = ANY($1::bigint[]) AND status = '701001'", ids)[0].as<int64_t>();
    const int64_t inbox = tx.exec_params1("SELECT count(*) FROM processed_message WHERE message_key LIKE $1 || '-%'", tag)[0]
                              .as<int64_t>();
    Require(paid == o.k && inbox == o.k, "consumer: selections_paid=" + std::to_string(paid) +
                                             " inbox=" + std::to_string(inbox) + " expected " + std::to_string(o.k));
  }
  auto conn = amqp::Connection::Open(BrokerSettings("paynotify-bench-topology"));
  Require(amqp::MessageCount(*conn, sys.Queue() + ".dlq") == 0, "consumer: messages were dead-lettered");
  const double rate = (o.k - 1) / std::max(span, 1e-6);
  f.Set("consumer_apply_msg_per_s", rate, "1/s");
  f.Set("cpu_s_per_1000_learning-service", learning_cpu * 1000.0 / o.k, "CPU s");
  AddCpuFigures(f, cpu_before, cpu_after, o.k);
  sys.StopLearning(0);
  const double raw = RawConsumerRate(sys, o.k, o.connections, f, "");
  f.Set("consumer_vs_raw_tx", rate / raw, "ratio");
  return f;
}

Figures ScenarioIntake(const Options& o) {
  Figures f;
  // The relay is kept from publishing by pointing it at a port nothing listens on: it never
  // connects, so it never claims a row (it connects before claiming). The intake does not
  // need the broker.
  e2e::PaySystem sys("bench-intake", 1, 0, DaemonEnv(o, {{"PAYNOTIFY_RABBITMQ_PORT", "1"}}));
  const auto selections = sys.CreateSelections(o.n);
  struct OutboxCleanup {  // the relay never publishes these: remove them even after a failure
    std::string keys;
    ~OutboxCleanup() {
      try {
        pqxx::connection pg(t::PgConnString(t::OrdersDb()));
        pqxx::work tx(pg);
        tx.exec_params0("DELETE FROM mq_message WHERE business_key1 = ANY($1::text[])", keys);
        tx.commit();
      } catch (...) {
      }
    }
  } outbox_cleanup{TextArray(selections)};
  sys.StartOrder(0);
  const auto pay_nos = CreateOrdersSql(selections);
  const pid_t pid = sys.OrderPid(0);
  const auto forms = sys.SignNotifications(pay_nos, 1);  // the platform's work: before the clock
  const auto cpu_before = TakeCpu(pid, -1);
  const auto start = Clock::now();
  const int ok = sys.SendNotifications(forms, o.concurrency, 600s);
  const double s = Seconds(Clock::now() - start);
  const auto cpu_after = TakeCpu(pid, -1);
  f.Set("peak_rss_order_service_mib", PeakRssMiB(pid), "MiB");
  sys.StopOrder(0);
  {
    pqxx::connection conn(t::PgConnString(t::OrdersDb()));
    pqxx::work tx(conn);
    const std::string keys = TextArray(selections);
    const int64_t paid = tx.exec_params1(
        "SELECT count(*) FROM xc_orders WHERE out_business_id = ANY($1::text[]) AND status = '600002'", keys)[0].as<int64_t>();
    const int64_t outbox = tx.exec_params1("SELECT count(*) FROM mq_message WHERE business_key1 = ANY($1::text[])", keys)[0]
                               .as<int64_t>();
    // The relay never ran: remove the rows so no later relay publishes them.
    tx.exec_params0("DELETE FROM mq_message WHERE business_key1 = ANY($1::text[])", keys);
    tx.commit();
    Require(ok == o.n && paid == o.n && outbox == o.n,
            "intake: answered=" + std::to_string(ok) + " paid=" + std::to_string(paid) + " outbox_rows=" +
                std::to_string(outbox) + " expected " + std::to_string(o.n));
  }
  f.Set("intake_per_s", o.n / s, "1/s");
  AddCpuFigures(f, cpu_before, cpu_after, o.n);
  const double raw = RawOrderRate(o.n, o.connections, f, "");
  f.Set("intake_vs_raw_tx", (o.n / s) / raw, "ratio");
  return f;
}

Figures ScenarioLimits(const Options& o) {
  Figures f;
  e2e::PaySystem sys("bench-limits", 0, 0);  // only for CreateSelections
  RawPublishRate(o.k, f, "");
  RawOrderRate(o.k, o.connections, f, "");
  RawConsumerRate(sys, o.k, o.connections, f, "");
  // Both transactions at once on the one server, 4 connections each: order transaction +
  // outbox delete on one side, consumer transaction on the other.
  const std::string otag = t::UniqueName("bench-pairo");
  const std::string ctag = t::UniqueName("bench-pairc");
  const auto pay_nos = CreateRawOrders(otag, o.k);
  const auto selections = sys.CreateSelections(o.k);
  double order_s = 0, consumer_s = 0;
  std::string error;
  std::mutex error_mutex;
  const auto start = Clock::now();
  std::thread order_side([&] {
    try {
      order_s = ParallelPg(t::OrdersDb(), o.k, 4, PrepareOrder,
                           [&](pqxx::connection& c, int i) { RawOrderTransaction(c, pay_nos[i], otag, true); });
    } catch (const std::exception& e) {
      std::lock_guard lock(error_mutex);
      error = e.what();
    }
  });
  std::thread consumer_side([&] {
    try {
      consumer_s = ParallelPg(t::LearningDb(), o.k, 4, PrepareConsumer, [&](pqxx::connection& c, int i) {
        RawConsumerTransaction(c, ctag + "-" + std::to_string(i), selections[i]);
      });
    } catch (const std::exception& e) {
      std::lock_guard lock(error_mutex);
      error = e.what();
    }
  });
  order_side.join();
  consumer_side.join();
  const double both_s = Seconds(Clock::now() - start);
  if (!error.empty()) throw std::runtime_error(error);
  CheckRawOrders(otag, o.k, true);
  CheckRawConsumer(selections, ctag);
  f.Set("pair_order_side_per_s", o.k / order_s, "1/s");
  f.Set("pair_consumer_side_per_s", o.k / consumer_s, "1/s");
  f.Set("pair_per_message_bound_per_s", o.k / both_s, "1/s");
  return f;
}

// ---- driver --------------------------------------------------------------------------------

Figures RunScenario(const std::string& name, const Options& o) {
  if (name == "e2e") return ScenarioE2e(o);
  if (name == "relay") return ScenarioRelay(o);
  if (name == "consumer") return ScenarioConsumer(o);
  if (name == "intake") return ScenarioIntake(o);
  if (name == "limits") return ScenarioLimits(o);
  throw std::invalid_argument("unknown scenario '" + name + "'");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

nlohmann::json Report(const std::string& name, const Options& o, const std::vector<Figures>& runs,
                      const std::vector<std::string>& loads) {
  nlohmann::json j;
  j["scenario"] = name;
  j["params"] = {{"n", o.n}, {"k", o.k}, {"concurrency", o.concurrency}, {"connections", o.connections}, {"runs", runs.size()}, {"rate", o.rate}};
  j["nproc"] = std::thread::hardware_concurrency();
  j["loadavg_per_run"] = loads;
  j["env"] = o.env;
  std::printf("\n== %s  (n=%d k=%d concurrency=%d connections=%d runs=%zu; nproc=%u)\n", name.c_str(), o.n, o.k,
              o.concurrency, o.connections, runs.size(), std::thread::hardware_concurrency());
  std::printf("%-36s %12s %12s %12s  %s\n", "figure", "median", "min", "max", "unit");
  for (const auto& [fig, unit] : runs.front().order) {
    std::vector<double> v;
    for (const auto& r : runs) {
      if (auto it = r.values.find(fig); it != r.values.end()) v.push_back(it->second);
    }
    const double med = Median(v);
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::printf("%-36s %12.3f %12.3f %12.3f  %s\n", fig.c_str(), med, *lo, *hi, unit.c_str());
    j["figures"][fig] = {{"median", med}, {"min", *lo}, {"max", *hi}, {"unit", unit}, {"runs", v}};
  }
  for (size_t i = 0; i < loads.size(); ++i) std::printf("load average at end of run %zu: %s\n", i + 1, loads[i].c_str());
  std::fflush(stdout);
  return j;
}

int Usage() {
  std::cerr << "usage: paynotify-bench <e2e|relay|consumer|intake|limits|all|smoke> [--n N] [--k K]\n"
               "         [--concurrency C] [--connections P] [--runs R] [--json FILE] [--env KEY=VALUE]... [--rate R]\n"
               "  --n           payments for e2e and intake (default 20000)\n"
               "  --k           messages for relay, consumer, limits (default 100000)\n"
               "  --concurrency HTTP connections for notifications (default 32)\n"
               "  --connections PostgreSQL connections for the raw transactions (default 16)\n"
               "  --runs        repetitions; tables show median, min, max (default 1)\n"
               "  --rate        e2e only: paced notifications per second (default: unpaced)\n"
               "  --env         extra daemon environment, e.g. PAYNOTIFY_RELAY_BATCH_SIZE=2000 (repeatable)\n"
               "  smoke         every scenario at a tiny size (checks only, no claims)\n"
               "needs: eval \"$(scripts/infra env)\" with the servers up\n";
  return 2;
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage();
  Options o;
  o.scenario = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--n") o.n = std::stoi(value());
    else if (a == "--k") o.k = std::stoi(value());
    else if (a == "--concurrency") o.concurrency = std::stoi(value());
    else if (a == "--connections") o.connections = std::stoi(value());
    else if (a == "--runs") o.runs = std::stoi(value());
    else if (a == "--rate") o.rate = std::stod(value());
    else if (a == "--json") o.json_path = value();
    else if (a == "--env") {
      const std::string kv = value();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) return Usage();
      o.env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    else return Usage();
  }
  std::vector<std::string> scenarios;
  if (o.scenario == "all" || o.scenario == "smoke") {
    scenarios = {"limits", "relay", "consumer", "intake", "e2e"};
    if (o.scenario == "smoke") {
      o.n = 60;
      o.k = 200;
      o.concurrency = 4;
      o.connections = 4;
      o.runs = 1;
    }
  } else {
    scenarios = {o.scenario};
  }
  if (o.n < 2 || o.k < 2 || o.concurrency < 1 || o.connections < 1 || o.runs < 1) return Usage();
  nlohmann::json all = nlohmann::json::array();
  for (const auto& name : scenarios) {
    std::vector<Figures> runs;
    std::vector<std::string> loads;
    for (int r = 0; r < o.runs; ++r) {
      std::fprintf(stderr, "bench: %s run %d/%d (load %s)\n", name.c_str(), r + 1, o.runs, LoadAverage().c_str());
      runs.push_back(RunScenario(name, o));
      loads.push_back(LoadAverage());
    }
    all.push_back(Report(name, o, runs, loads));
  }
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
  }
  return 0;
}

}  // namespace paynotify::bench

int main(int argc, char** argv) {
  try {
    return paynotify::bench::Main(argc, argv);
  } catch (const paynotify::bench::CheckFailed& e) {
    std::fprintf(stderr, "\n*** %s ***\n*** the run is NOT a result ***\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paynotify-bench: %s\n", e.what());
    return 1;
  }
}

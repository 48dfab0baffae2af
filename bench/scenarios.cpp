#include "bench/scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include <pqxx/pqxx>

#include "bench/cpu_accounting.hpp"
#include "bench/proc_stats.hpp"
#include "bench/raw_limits.hpp"
#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/topology.hpp"
#include "common/pg/array_literal.hpp"
#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/pg_exec.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::bench {

namespace t = paynotify::testing;
using namespace std::chrono_literals;

namespace {

/// One unpaid order + pay record per selection (out_business_id = the selection id), made in
/// SQL as POST /orders would make them: creating orders is not what the bench measures, and
/// over HTTP it takes longer than the measurement on this machine. Returns the pay_nos.
std::vector<int64_t> CreateOrdersSql(const std::vector<int64_t>& selections) {
  const pqxx::result r = t::ExecCommitted(
      t::OrdersDb(),
      "WITH o AS (INSERT INTO xc_orders (total_price, user_id, order_type, order_name, order_descrip, out_business_id)"
      " SELECT 9.90, 'bench-' || s, '60201', 'bench course', 'bench', s::text FROM unnest($1::bigint[]) s"
      " RETURNING id, out_business_id, user_id),"
      " p AS (INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id)"
      " SELECT nextval('xc_pay_no_seq'), id, 'bench course', 9.90, user_id FROM o RETURNING pay_no, order_id)"
      " SELECT p.pay_no, o.out_business_id FROM p JOIN o ON o.id = p.order_id",
      pg::ArrayLiteral(selections));
  std::map<std::string, int64_t> by_selection;
  for (const auto& row : r) by_selection[row[1].as<std::string>()] = row[0].as<int64_t>();
  std::vector<int64_t> pay_nos;
  for (int64_t s : selections) pay_nos.push_back(by_selection.at(std::to_string(s)));
  return pay_nos;
}

// ---- latency -------------------------------------------------------------------------------

/// Commit-to-apply latency per payment in ms: xc_course_tables.create_date (learning db) minus
/// xc_pay_record.pay_success_time (orders db); both are now() of their transaction, one clock.
std::vector<double> Latencies(const std::vector<int64_t>& selections, double* first_pay_epoch, double* last_apply_epoch) {
  std::map<std::string, double> paid_at;
  for (const auto& row : t::ExecCommitted(
           t::OrdersDb(),
           "SELECT o.out_business_id, extract(epoch from p.pay_success_time)::float8 FROM xc_orders o"
           " JOIN xc_pay_record p ON p.order_id = o.id WHERE o.out_business_id = ANY($1::bigint[]::text[]) AND p.status = '601002'",
           pg::ArrayLiteral(selections))) {
    paid_at[row[0].as<std::string>()] = row[1].as<double>();
  }
  std::vector<double> ms;
  *first_pay_epoch = 1e300;
  *last_apply_epoch = 0;
  for (const auto& [key, at] : paid_at) *first_pay_epoch = std::min(*first_pay_epoch, at);
  for (const auto& row : t::ExecCommitted(
           t::LearningDb(),
           "SELECT choose_course_id::text, extract(epoch from create_date)::float8 FROM xc_course_tables"
           " WHERE choose_course_id = ANY($1::bigint[])",
           pg::ArrayLiteral(selections))) {
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

}  // namespace

Figures ScenarioE2e(const Options& o) {
  Figures f;
  e2e::PaySystem sys("bench-e2e", 1, 1, DaemonEnv(o, BrokerEnv(o)), DaemonEnv(o, BrokerEnv(o)));
  sys.SetApplyAudit(false);  // measure without the e2e tests' audit triggers
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
  const double raw = RawPublishRate(o.k, f, "", o.queue_type);
  // The production default keep-history=false: confirmed rows are deleted. The system has
  // its own exchange; our own queue bound to it (of --queue-type) receives what the relay
  // publishes.
  e2e::PaySystem sys("bench-relay", 1, 0, DaemonEnv(o, BrokerEnv(o, {{"PAYNOTIFY_RELAY_KEEP_HISTORY", "false"}})));
  const std::string tag = t::UniqueName("bench-relay");
  const std::string queue = tag;
  auto conn = amqp::Connection::Open(BrokerSettings("paynotify-bench-topology"));
  amqp::DeclareExchange(*conn, amqp::ExchangeSpec{.name = sys.Exchange()});
  amqp::DeclareQueue(*conn, amqp::QueueSpec{.name = queue, .queue_type = o.queue_type});
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
        t::ExecCommitted(t::OrdersDb(), "DELETE FROM mq_message WHERE business_key3 = $1", tag);
      } catch (...) {
      }
    }
  } outbox_cleanup{tag};
  // Our rows' message_ids: each must reach the queue exactly once. Rows someone else left due
  // in the shared outbox are published too; their messages are told apart by id below.
  std::unordered_map<std::string, int> copies;  // message_id -> times seen in the queue
  for (const auto& row : t::ExecCommitted(
           t::OrdersDb(),
           "INSERT INTO mq_message (message_type, business_key1, business_key2, business_key3)"
           " SELECT 'payresult_notify', g::text, 'bench', $1 FROM generate_series(1, $2) g RETURNING message_id::text",
           tag, o.k)) {
    copies.emplace(row[0].as<std::string>(), 0);
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
  // Checked by message_id, not by count: every one of our K ids exactly once. A count of
  // "K plus the foreign rows" could hide one of ours published twice beside one missing.
  const uint32_t final_count = amqp::MessageCount(*conn, queue);
  int64_t foreign = 0;
  uint32_t read = 0;
  {
    amqp::Consumer reader(BrokerSettings("paynotify-bench-check"), queue, 1000);
    for (; read < final_count; ++read) {
      auto delivery = reader.Next(10s);
      if (!delivery) break;
      const auto it = delivery->message_id ? copies.find(*delivery->message_id) : copies.end();
      if (it == copies.end()) {
        ++foreign;
      } else {
        ++it->second;
      }
      if (read % 500 == 499 || read + 1 == final_count) reader.Ack(delivery->delivery_tag, /*multiple=*/true);
    }
  }
  int64_t missing = 0, twice = 0;
  for (const auto& [id, n] : copies) {
    if (n == 0) ++missing;
    if (n > 1) ++twice;
  }
  Require(read == final_count && missing == 0 && twice == 0,
          "relay: of " + std::to_string(o.k) + " message_ids " + std::to_string(missing) + " missing, " +
              std::to_string(twice) + " published more than once (read " + std::to_string(read) + " of " +
              std::to_string(final_count) + " messages, " + std::to_string(foreign) + " foreign)");
  f.Set("relay_foreign_rows_published", static_cast<double>(foreign), "msgs");
  f.Set("relay_drain_msg_per_s", o.k / s, "1/s");
  f.Set("relay_vs_raw_publish", (o.k / s) / raw, "ratio");
  f.Set("cpu_s_per_1000_order-service", order_cpu * 1000.0 / o.k, "CPU s");
  AddCpuFigures(f, cpu_before, cpu_after, o.k);
  return f;
}

Figures ScenarioConsumer(const Options& o) {
  Figures f;
  e2e::PaySystem sys("bench-consumer", 0, 1, {}, DaemonEnv(o, BrokerEnv(o)));
  sys.SetApplyAudit(false);  // measure without the e2e tests' audit triggers
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
  const std::string ids = pg::ArrayLiteral(selections);
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
  sys.SetApplyAudit(false);  // measure without the e2e tests' audit triggers
  const auto selections = sys.CreateSelections(o.n);
  struct OutboxCleanup {  // the relay never publishes these: remove them even after a failure
    std::string keys;
    ~OutboxCleanup() {
      try {
        t::ExecCommitted(t::OrdersDb(), "DELETE FROM mq_message WHERE business_key1 = ANY($1::bigint[]::text[])", keys);
      } catch (...) {
      }
    }
  } outbox_cleanup{pg::ArrayLiteral(selections)};
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
    const std::string keys = pg::ArrayLiteral(selections);  // business keys are the ids as text
    const int64_t paid = tx.exec_params1(
        "SELECT count(*) FROM xc_orders WHERE out_business_id = ANY($1::bigint[]::text[]) AND status = '600002'", keys)[0].as<int64_t>();
    const int64_t outbox = tx.exec_params1("SELECT count(*) FROM mq_message WHERE business_key1 = ANY($1::bigint[]::text[])", keys)[0]
                               .as<int64_t>();
    // The relay never ran: remove the rows so no later relay publishes them.
    tx.exec_params0("DELETE FROM mq_message WHERE business_key1 = ANY($1::bigint[]::text[])", keys);
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
  sys.SetApplyAudit(false);  // measure without the e2e tests' audit triggers
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
  if (name == "retention") return ScenarioRetention(o);
  throw std::invalid_argument("unknown scenario '" + name + "'");
}

}  // namespace paynotify::bench

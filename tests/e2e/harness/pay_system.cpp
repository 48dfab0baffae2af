#include "tests/e2e/harness/pay_system.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/topology.hpp"
#include "common/messages/mq_message.hpp"
#include "common/pg/array_literal.hpp"
#include "tests/support/pg_exec.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"

#ifndef PAYNOTIFY_ORDER_SERVICE_BIN
#error "PAYNOTIFY_ORDER_SERVICE_BIN must be defined by CMake"
#endif

namespace paynotify::e2e {

namespace t = paynotify::testing;

namespace {

constexpr const char* kAppId = "2021000000000000";  // config/order-service.yaml alipay.app-id
constexpr const char* kAmount = "9.90";

// Selections the harness creates for e2e tests carry this company_id (course rows copy it):
// the audit triggers fire only for it (a WHEN clause, evaluated without calling the function),
// so every other user of the database — bench/, integration tests, a developer's run — pays
// nothing for them. bench/ uses kUnauditedCompanyId.
constexpr int64_t kAuditedCompanyId = 4200000001;
constexpr int64_t kUnauditedCompanyId = 1232141425;

// Test-only instrumentation of the learning database (see Convergence): never part of sql/.
// BEFORE row triggers because PostgreSQL fires BEFORE INSERT for every row an INSERT ... ON
// CONFLICT DO NOTHING proposes, before the conflict check discards it: a second application
// that the constraints make invisible is still counted. The counts are rows in the same
// transaction, so a rolled-back attempt leaves none. Idempotent, and serialised by an
// advisory lock because concurrent CREATE OR REPLACE of one function can fail. A changed
// definition needs new trigger names (InstallApplyAudit skips existing ones).
// 4200000001 below is kAuditedCompanyId.
constexpr std::string_view kInstallApplyAudit = R"sql(
SELECT pg_advisory_xact_lock(hashtext('paynotify.e2e_apply_audit'));
CREATE TABLE IF NOT EXISTS e2e_apply_audit (
  selection_id bigint      NOT NULL,
  event        text        NOT NULL CHECK (event IN ('paid', 'course-row')),
  txid         bigint      NOT NULL DEFAULT txid_current(),
  at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS e2e_apply_audit_selection_idx ON e2e_apply_audit (selection_id);
CREATE OR REPLACE FUNCTION e2e_audit_paid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO e2e_apply_audit (selection_id, event) VALUES (NEW.id, 'paid');
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION e2e_audit_course_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO e2e_apply_audit (selection_id, event) VALUES (NEW.choose_course_id, 'course-row');
  RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER e2e_audit_paid BEFORE UPDATE ON xc_choose_course FOR EACH ROW
  WHEN (NEW.status = '701001' AND NEW.company_id = 4200000001) EXECUTE FUNCTION e2e_audit_paid();
CREATE OR REPLACE TRIGGER e2e_audit_course_row BEFORE INSERT ON xc_course_tables FOR EACH ROW
  WHEN (NEW.company_id = 4200000001) EXECUTE FUNCTION e2e_audit_course_row();
)sql";

// Test-only instrumentation of the orders database (see Convergence), never part of sql/: an
// AFTER INSERT row trigger on the outbox records each message a payment produced, so
// "produced twice" and the inbox rows per payment are measured whatever relay.keep-history
// says (without history the relay deletes a row once confirmed, and nothing else keeps its
// message_id). AFTER, because only an inserted row is a message; a rolled-back insert leaves
// no record. The WHEN clause, evaluated without calling the function, limits it to rows
// written by an order-service the harness started with kAuditedApplicationName as its
// database application_name (see StartOrder): bench/, integration tests and a developer's
// daemon pay nothing. Idempotent and serialised like kInstallApplyAudit.
// 'order-service-e2e-audited' below is kAuditedApplicationName.
constexpr const char* kAuditedApplicationName = "order-service-e2e-audited";
constexpr std::string_view kInstallOutboxAudit = R"sql(
SELECT pg_advisory_xact_lock(hashtext('paynotify.e2e_outbox_audit'));
CREATE TABLE IF NOT EXISTS e2e_outbox_audit (
  business_key1 varchar(64),
  message_id    uuid        NOT NULL,
  at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS e2e_outbox_audit_key_idx ON e2e_outbox_audit (business_key1);
CREATE OR REPLACE FUNCTION e2e_audit_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO e2e_outbox_audit (business_key1, message_id) VALUES (NEW.business_key1, NEW.message_id);
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER e2e_audit_outbox AFTER INSERT ON mq_message FOR EACH ROW
  WHEN (current_setting('application_name') = 'order-service-e2e-audited') EXECUTE FUNCTION e2e_audit_outbox();
)sql";

// Installs test-only audit DDL into `db` unless all of `triggers` exist. Installed once per
// database: DDL on a table the daemons write takes locks that can deadlock with a daemon
// writing audited rows (its trigger inserts into the audit table), so it runs only when a
// trigger is missing, gives up waiting after a few seconds, and retries.
void InstallAuditOnce(const std::string& db, const std::string& triggers, std::string_view ddl) {
  pqxx::connection conn(t::PgConnString(db));
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::work tx(conn);
      const pqxx::row present = tx.exec_params1(
          "SELECT count(*)::int, cardinality($1::text[]) FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY($1::text[])",
          triggers);
      if (present[0].as<int>() < present[1].as<int>()) {
        tx.exec0("SET LOCAL lock_timeout = '5s'");
        tx.exec(std::string(ddl));
        tx.commit();
      }
      return;
    } catch (const pqxx::sql_error&) {
      if (attempt == 5) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  }
}

// Per selection: how often it was written paid and how often a course row was attempted.
constexpr std::string_view kAuditCounts = R"sql(
WITH per AS (
  SELECT s.id,
         count(a.*) FILTER (WHERE a.event = 'paid') AS paid,
         count(a.*) FILTER (WHERE a.event = 'course-row') AS rows
  FROM unnest($1::bigint[]) AS s(id) LEFT JOIN e2e_apply_audit a ON a.selection_id = s.id
  GROUP BY s.id
)
SELECT coalesce(sum(paid), 0)::int, coalesce(sum(rows), 0)::int,
       count(*) FILTER (WHERE paid = 1 AND rows = 1)::int,
       count(*) FILTER (WHERE paid > 1 OR rows > 1)::int
FROM per
)sql";

// A port nothing listens on, for a daemon to bind later. Picked below the kernel's ephemeral
// range (ip_local_port_range, 32768 and up) and the local servers' ports (scripts/infra,
// 24369 and up): a port of the ephemeral range can be taken meanwhile by any outgoing
// connection, the daemon's own included (it connects to PostgreSQL and RabbitMQ before it
// binds); in CI an order-service once exited on "address in use" that way.
int FreePort() {
  static std::mutex mutex;
  static std::mt19937 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  std::uniform_int_distribution<int> candidates(10000, 23999);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = candidates(random);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("FreePort: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return port;
  }
  throw std::runtime_error("FreePort: no free port in 10000-23999 after 200 tries");
}

// Runs `work(i)` for i in [0, n) on `concurrency` threads, each with its own state.
template <class MakeState, class Work>
void Parallel(size_t n, int concurrency, MakeState make_state, Work work) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  std::mutex error_mutex;
  std::string first_error;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back([&] {
      auto state = make_state();
      try {
        for (size_t i = next++; i < n; i = next++) work(*state, i);
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e.what();
        next = n;
      }
    });
  }
  for (auto& th : threads) th.join();
  if (!first_error.empty()) throw std::runtime_error(first_error);
}

}  // namespace

amqp::BrokerSettings TestBrokerSettings(const std::string& connection_name, int heartbeat_s) {
  amqp::BrokerSettings s = t::BrokerSettingsFromEnv(connection_name);
  s.heartbeat_s = heartbeat_s;
  if (const char* list = std::getenv("PAYNOTIFY_AMQP_ADDRESSES"); list != nullptr && *list != '\0') {
    std::vector<amqp::BrokerAddress> addresses;
    std::stringstream in(list);
    for (std::string entry; std::getline(in, entry, ',');) {
      amqp::BrokerAddress address;
      if (!amqp::ParseBrokerAddress(entry, address)) {
        throw t::MissingEnvironment("PAYNOTIFY_AMQP_ADDRESSES: malformed entry '" + entry + "'");
      }
      addresses.push_back(address);
    }
    if (!addresses.empty()) s.addresses = std::move(addresses);
  }
  return s;
}

double MetricValue(const std::string& exposition, const std::string& sample) {
  const bool has_labels = sample.find('{') != std::string::npos;
  double total = 0;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    const bool match = has_labels ? name == sample
                                  : (name == sample || name.rfind(sample + "{", 0) == 0);
    if (match) total += std::stod(line.substr(space + 1));
  }
  return total;
}

bool Convergence::MessagesKnown() const { return audited || history_kept; }

std::string Convergence::ProducedTwiceText() const {
  return MessagesKnown() ? "produced_twice=" + std::to_string(produced_twice)
                         : "produced_twice=n/a(unaudited, keep-history=false)";
}

std::string Convergence::Describe() const {
  std::ostringstream out;
  out << "expected=" << expected << " selections_paid=" << selections_paid
      << " course_rows=" << course_rows << " orders_paid=" << orders_paid
      << " outbox_left=" << outbox_rows_left << " history_rows=" << history_rows
      << (history_kept ? "" : " (keep-history=false: history must stay empty)");
  out << " messages_produced=" << messages_produced << " produced_twice=" << produced_twice
      << " inbox_rows=" << inbox_rows << " payments_with_one_inbox_row=" << inbox_once
      << (audited ? " (outbox audit)" : " (from the history)");
  if (audited) {
    out << " paid_writes=" << paid_writes << " course_row_inserts=" << course_row_inserts
        << " applied_once=" << applied_once << " applied_twice=" << applied_twice;
  }
  return out.str();
}

std::string InFlight::Describe() const {
  return "not_applied=" + std::to_string(not_applied) + " answered_not_applied=" +
         std::to_string(answered_not_applied) + " outbox_pending=" + std::to_string(outbox_pending);
}

PaySystem::PaySystem(std::string name, int order_replicas, int learning_replicas,
                     std::map<std::string, std::string> order_env,
                     std::map<std::string, std::string> learning_env)
    : name_(std::move(name)), queue_(t::UniqueName("e2e." + name_)), exchange_(queue_ + ".exchange") {
  dir_ = (std::filesystem::temp_directory_path() / ("paynotify-" + queue_)).string();
  std::filesystem::create_directories(dir_);
  signer_.WritePublicKeyPem(dir_ + "/alipay_public.pem");
  for (int i = 0; i < order_replicas; ++i) {
    order_ports_.push_back(FreePort());
    order_internal_ports_.push_back(FreePort());
    std::map<std::string, std::string> env = CommonEnv();
    env["PAYNOTIFY_SERVER_PORT"] = std::to_string(order_ports_.back());
    env["PAYNOTIFY_INTERNAL_SERVER_HOST"] = "127.0.0.1";
    env["PAYNOTIFY_INTERNAL_SERVER_PORT"] = std::to_string(order_internal_ports_.back());
    env["PAYNOTIFY_ORDER_API_TOKEN"] = api_token_;
    env["PAYNOTIFY_DATABASE_DBNAME"] = t::OrdersDb();
    env["PAYNOTIFY_ALIPAY_PUBLIC_KEY_FILE"] = dir_ + "/alipay_public.pem";
    env["PAYNOTIFY_ALIPAY_APP_ID"] = kAppId;
    // History keeps each published message (and its message_id) so the test can prove that
    // every payment produced exactly one message and that it was applied exactly once.
    env["PAYNOTIFY_RELAY_KEEP_HISTORY"] = "true";
    env["PAYNOTIFY_RELAY_RETRY_INITIAL_INTERVAL"] = "200ms";
    env["PAYNOTIFY_RELAY_RETRY_MAX_INTERVAL"] = "2s";
    for (const auto& [key, value] : order_env) env[key] = value;
    history_kept_ = env["PAYNOTIFY_RELAY_KEEP_HISTORY"] == "true";
    order_.push_back(std::make_unique<ChildProcess>(
        PAYNOTIFY_ORDER_SERVICE_BIN,
        std::vector<std::string>{"--config", std::string(PAYNOTIFY_SOURCE_DIR) + "/config/order-service.yaml"},
        env, dir_ + "/order-service-" + std::to_string(i) + ".log"));
  }
  for (int i = 0; i < learning_replicas; ++i) {
    learning_ports_.push_back(FreePort());
    std::map<std::string, std::string> env = CommonEnv();
    env["PAYNOTIFY_SERVER_PORT"] = std::to_string(learning_ports_.back());
    env["PAYNOTIFY_DATABASE_DBNAME"] = t::LearningDb();
    env["PAYNOTIFY_CONSUMER_QUEUE"] = queue_;
    env["PAYNOTIFY_CONSUMER_DEAD_LETTER_QUEUE"] = queue_ + ".dlq";
    // Short retry steps keep fault scenarios quick; the queues are this test's own, so the
    // TTLs never clash with another declaration.
    env["PAYNOTIFY_RABBITMQ_LISTENER_RETRY_INITIAL_INTERVAL"] = "200ms";
    env["PAYNOTIFY_RABBITMQ_LISTENER_RETRY_MAX_INTERVAL"] = "1s";
    for (const auto& [key, value] : learning_env) env[key] = value;
    learning_.push_back(std::make_unique<ChildProcess>(
        PAYNOTIFY_LEARNING_SERVICE_BIN,
        std::vector<std::string>{"--config", std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml"},
        env, dir_ + "/learning-service-" + std::to_string(i) + ".log"));
  }
}

PaySystem::~PaySystem() {
  for (auto& p : order_) p->Terminate(std::chrono::seconds(20));
  for (auto& p : learning_) p->Terminate(std::chrono::seconds(20));
  // Our queues are bound to the shared exchange: remove them, or they would collect every
  // later message for ever.
  try {
    auto connection = amqp::Connection::Open(TestBrokerSettings());
    for (const std::string& q : {queue_, queue_ + ".dlq"}) amqp::DeleteQueue(*connection, q);
    amqp::DeleteExchange(*connection, exchange_);
    for (int n = 1; n <= 10; ++n) amqp::DeleteQueue(*connection, queue_ + ".retry." + std::to_string(n));
  } catch (const std::exception& e) {
    std::cerr << "e2e cleanup: could not delete queues of " << queue_ << ": " << e.what() << "\n";
  }
  std::cerr << "e2e " << name_ << ": daemon logs in " << dir_ << "\n";
}

std::map<std::string, std::string> PaySystem::CommonEnv() const {
  const auto b = t::Broker();
  return {
      {"PAYNOTIFY_DATABASE_HOST", t::RequireEnv("PGHOST")},
      {"PAYNOTIFY_DATABASE_PORT", t::RequireEnv("PGPORT")},
      {"PAYNOTIFY_DATABASE_USER", t::RequireEnv("PGUSER")},
      {"PAYNOTIFY_DATABASE_PASSWORD", t::RequireEnv("PGPASSWORD")},
      {"PAYNOTIFY_RABBITMQ_HOST", b.host},
      {"PAYNOTIFY_RABBITMQ_PORT", std::to_string(b.port)},
      {"PAYNOTIFY_RABBITMQ_USERNAME", b.user},
      {"PAYNOTIFY_RABBITMQ_PASSWORD", b.password},
      {"PAYNOTIFY_SERVER_HOST", "127.0.0.1"},
      // This system's own fanout exchange: its messages reach no other test's (or a
      // developer's running learning.paynotify) queue. Each daemon reads its own key.
      {"PAYNOTIFY_RELAY_EXCHANGE", exchange_},
      {"PAYNOTIFY_CONSUMER_EXCHANGE", exchange_},
      // Fault scenarios restart servers: both daemons come back within 2 s of them.
      {"PAYNOTIFY_RABBITMQ_RECONNECT_MAX_INTERVAL", "2s"},
      {"PAYNOTIFY_DATABASE_RECONNECT_MAX_INTERVAL", "2s"},
  };
}

void PaySystem::StartAll() {
  // Learning first: its queue must be bound before the relay publishes, or the first
  // messages come back as returns (they would still arrive, after a back-off).
  for (size_t i = 0; i < learning_.size(); ++i) StartLearning(static_cast<int>(i));
  for (size_t i = 0; i < order_.size(); ++i) StartOrder(static_cast<int>(i));
}

void PaySystem::StartOrder(int replica) {
  // The outbox audit's marker (kInstallOutboxAudit): only audited systems write with it.
  if (audit_) order_[replica]->SetEnv("PAYNOTIFY_DATABASE_APPLICATION_NAME", kAuditedApplicationName);
  order_[replica]->Start();
  WaitHealthy(true, replica);
}

void PaySystem::StartLearning(int replica) {
  learning_[replica]->Start();
  WaitHealthy(false, replica);
  // Ready means the topology (our queue bound to the exchange) has been declared.
  httplib::Client client("127.0.0.1", learning_ports_[replica]);
  const bool ready = t::WaitFor(
      [&] {
        auto res = client.Get("/readyz");
        return res && res->status == 200;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(50));
  if (!ready) throw std::runtime_error("learning-service never became ready:\n" + learning_[replica]->LogTail());
}

void PaySystem::WaitHealthy(bool order, int replica, std::chrono::seconds deadline) {
  ChildProcess& process = order ? *order_[replica] : *learning_[replica];
  const int port = order ? order_ports_[replica] : learning_ports_[replica];
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(1));
  const bool healthy = t::WaitFor(
      [&] {
        if (!process.IsRunning()) return false;
        auto res = client.Get("/healthz");
        return res && res->status == 200;
      },
      deadline, std::chrono::milliseconds(50));
  if (!healthy) {
    throw std::runtime_error(std::string(order ? "order-service" : "learning-service") +
                             " did not answer /healthz; log tail:\n" + process.LogTail());
  }
}

std::string PaySystem::Metrics(bool order, int replica) {
  // order-service serves /metrics on its internal listener only.
  httplib::Client client("127.0.0.1", order ? order_internal_ports_[replica] : learning_ports_[replica]);
  auto res = client.Get("/metrics");
  return res && res->status == 200 ? res->body : std::string();
}

void PaySystem::InstallApplyAudit() {
  if (audit_installed_) return;
  InstallAuditOnce(t::LearningDb(), "{e2e_audit_paid,e2e_audit_course_row}", kInstallApplyAudit);
  InstallAuditOnce(t::OrdersDb(), "{e2e_audit_outbox}", kInstallOutboxAudit);
  audit_installed_ = true;
}

std::vector<int64_t> PaySystem::CreateSelections(int n) {
  if (audit_) InstallApplyAudit();
  // course_id is unique per selection (a learner holds a course once: UNIQUE(user_id, course_id)).
  return t::FirstColumn(t::ExecCommitted(
      t::LearningDb(),
      "INSERT INTO xc_choose_course (course_id, course_name, user_id, company_id, order_type,"
      " course_price, valid_days, status, remarks)"
      " SELECT (extract(epoch from clock_timestamp())*1000)::bigint * 10000 + g, 'e2e course ' || g,"
      " $1 || '-' || g, $3, '700002', 9.90, 365, '701002', $1"
      " FROM generate_series(1, $2) AS g RETURNING id",
      queue_.substr(0, 20), n, audit_ ? kAuditedCompanyId : kUnauditedCompanyId));
}

std::vector<int64_t> PaySystem::CreateOrders(const std::vector<int64_t>& selections, int concurrency) {
  std::vector<int64_t> pay_nos(selections.size());
  const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  Parallel(
      selections.size(), concurrency,
      [&] {
        auto client = std::make_unique<httplib::Client>("127.0.0.1", order_internal_ports_[0]);
        client->set_keep_alive(true);
        client->set_bearer_token_auth(api_token_);
        return client;
      },
      [&](httplib::Client& client, size_t i) {
        nlohmann::json body{{"userId", "e2e-user-" + std::to_string(selections[i])},
                            {"outBusinessId", std::to_string(selections[i])},
                            {"orderType", "60201"},
                            {"orderName", "e2e course"},
                            {"orderDescrip", "e2e"},
                            {"totalPrice", kAmount},
                            {"orderDetail", nlohmann::json::array({{{"goodsId", std::to_string(selections[i])},
                                                                    {"goodsType", "60201"},
                                                                    {"goodsName", "e2e course"},
                                                                    {"goodsPrice", 9.90}}})}};
        const std::string text = body.dump();
        while (true) {
          auto res = client.Post("/orders", text, "application/json");
          // 201: created; 200: the order for this outBusinessId already existed (a retry whose
          // first attempt was committed but not answered) and is returned as it is.
          if (res && (res->status == 201 || res->status == 200)) {
            auto reply = nlohmann::json::parse(res->body);
            const auto& pay_no = reply.at("payNo");
            pay_nos[i] = pay_no.is_string() ? std::stoll(pay_no.get<std::string>()) : pay_no.get<int64_t>();
            return;
          }
          if (res && res->status >= 400 && res->status < 500) {
            throw std::runtime_error("POST /orders rejected " + std::to_string(res->status) + ": " + res->body);
          }
          if (std::chrono::steady_clock::now() > until) throw std::runtime_error("POST /orders never succeeded");
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      });
  return pay_nos;
}

int PaySystem::NotifyAll(const std::vector<int64_t>& pay_nos, int concurrency, int copies,
                         std::chrono::seconds deadline) {
  return SendNotifications(SignNotifications(pay_nos, copies), concurrency, deadline);
}

std::string PaySystem::SignedNotification(int64_t pay_no,
                                          const std::map<std::string, std::string>& overrides) const {
  const std::string p = std::to_string(pay_no);
  std::map<std::string, std::string> fields{{"out_trade_no", p},
                                            {"trade_no", "2026" + p},
                                            {"trade_status", "TRADE_SUCCESS"},
                                            {"total_amount", kAmount},
                                            {"app_id", kAppId},
                                            {"notify_type", "trade_status_sync"},
                                            {"notify_id", "n" + p},
                                            {"notify_time", "2026-11-26 12:00:00"},
                                            {"charset", "utf-8"},
                                            {"version", "1.0"},
                                            {"seller_id", "2088000000000000"},
                                            {"buyer_id", "2088111111111111"},
                                            {"subject", "e2e course"},
                                            {"gmt_payment", "2026-11-26 12:00:00"}};
  for (const auto& [key, value] : overrides) {
    if (value.empty()) {
      fields.erase(key);
    } else {
      fields[key] = value;
    }
  }
  return AlipaySigner::FormEncode(signer_.Sign(std::move(fields)));
}

std::vector<std::string> PaySystem::SignNotifications(const std::vector<int64_t>& pay_nos, int copies) const {
  // Copies of one notification are adjacent in the work list, so different connections pick
  // them up at (nearly) the same moment: that is the concurrent-duplicate case.
  std::vector<std::string> forms;
  forms.reserve(pay_nos.size() * copies);
  for (int64_t pay_no : pay_nos) {
    const std::string form = SignedNotification(pay_no);
    for (int c = 0; c < copies; ++c) forms.push_back(form);
  }
  return forms;
}

int PaySystem::SendNotifications(const std::vector<std::string>& forms, int concurrency,
                                 std::chrono::seconds deadline, double rate) {
  std::atomic<int> successes{0};
  const auto until = std::chrono::steady_clock::now() + deadline;
  const auto paced_start = std::chrono::steady_clock::now();
  std::atomic<int> worker{0};
  struct Connections {
    std::vector<std::unique_ptr<httplib::Client>> clients;  // one per order-service replica
    size_t current = 0;
  };
  Parallel(
      forms.size(), concurrency,
      [&] {
        auto state = std::make_unique<Connections>();
        for (int port : order_ports_) {
          auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
          client->set_keep_alive(true);
          client->set_tcp_nodelay(true);  // as a real platform client would; no Nagle stalls
          client->set_connection_timeout(std::chrono::seconds(2));
          client->set_read_timeout(std::chrono::seconds(15));
          state->clients.push_back(std::move(client));
        }
        // Spread the connections over every replica.
        state->current = static_cast<size_t>(worker++) % state->clients.size();
        return state;
      },
      [&](Connections& state, size_t i) {
        if (rate > 0) {
          std::this_thread::sleep_until(paced_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(static_cast<double>(i) / rate)));
        }
        auto delay = std::chrono::milliseconds(50);
        while (true) {
          auto res = state.clients[state.current]->Post("/orders/paynotify", forms[i],
                                                        "application/x-www-form-urlencoded");
          if (res && res->status == 200 && res->body.rfind("success", 0) == 0) {
            ++successes;
            ++notified_;
            return;
          }
          if (res && res->status >= 400 && res->status < 500) {
            throw std::runtime_error("notification rejected " + std::to_string(res->status) + ": " + res->body);
          }
          // 5xx or no answer (daemon killed, database down): the platform re-sends later,
          // possibly to another replica behind its load balancer.
          ++retransmissions_;
          if (!res) state.current = (state.current + 1) % state.clients.size();
          if (std::chrono::steady_clock::now() > until) throw std::runtime_error("notification never answered success");
          std::this_thread::sleep_for(delay);
          delay = std::min(delay * 2, std::chrono::milliseconds(1000));
        }
      });
  return successes.load();
}

void PaySystem::PublishRaw(const std::vector<RawMessage>& raw) {
  // One connection and one confirmed batch for all of them.
  amqp::ConfirmPublisher publisher(TestBrokerSettings(), raw.size() + 1);
  std::vector<amqp::OutgoingMessage> batch;
  for (const auto& [body, message_id] : raw) {
    amqp::OutgoingMessage message;
    message.exchange = exchange_;
    message.body = body;
    message.message_id = message_id;
    message.type = std::string(messages::kPaymentResultType);
    message.app_id = "e2e-poison";
    batch.push_back(std::move(message));
  }
  for (const auto outcome : publisher.PublishBatch(batch, std::chrono::seconds(10))) {
    if (outcome != amqp::PublishOutcome::kConfirmed) throw std::runtime_error("raw publish not confirmed");
  }
}

Convergence PaySystem::Check(const std::vector<int64_t>& selections) {
  Convergence c;
  c.expected = static_cast<int>(selections.size());
  c.history_kept = history_kept_;
  c.audited = audit_;
  // out_business_id and business_key1 hold the selection id as text.
  const std::string ids = pg::ArrayLiteral(selections);
  std::map<std::string, std::string> payment_of;  // message_id -> business_key1
  std::map<std::string, int> messages_of;         // business_key1 -> messages produced
  {
    pqxx::connection conn(t::PgConnString(t::OrdersDb()));
    pqxx::work tx(conn);
    c.orders_paid = tx.exec_params1("SELECT count(*) FROM xc_orders WHERE out_business_id = ANY($1::bigint[]::text[]) AND status = '600002'", ids)[0].as<int>();
    c.outbox_rows_left = tx.exec_params1("SELECT count(*) FROM mq_message WHERE business_key1 = ANY($1::bigint[]::text[])", ids)[0].as<int>();
    // Read even without history: then it must stay empty (delete on confirm really ran).
    c.history_rows = tx.exec_params1("SELECT count(*) FROM mq_message_history WHERE business_key1 = ANY($1::bigint[]::text[])", ids)[0].as<int>();
    // Every message produced: the outbox audit when audited (whatever keep-history says),
    // else (bench/) the history, which holds them only while the relay keeps it.
    const char* produced =
        audit_ ? "SELECT message_id::text, business_key1 FROM e2e_outbox_audit WHERE business_key1 = ANY($1::bigint[]::text[])"
               : "SELECT message_id::text, business_key1 FROM mq_message_history WHERE business_key1 = ANY($1::bigint[]::text[])";
    for (const auto& row : tx.exec_params(produced, ids)) {
      payment_of[row[0].as<std::string>()] = row[1].as<std::string>();
      ++messages_of[row[1].as<std::string>()];
    }
  }
  c.messages_produced = static_cast<int>(payment_of.size());
  for (const auto& [payment, n] : messages_of) c.produced_twice += n > 1 ? 1 : 0;
  {
    pqxx::connection conn(t::PgConnString(t::LearningDb()));
    pqxx::work tx(conn);
    c.selections_paid = tx.exec_params1("SELECT count(*) FROM xc_choose_course WHERE id = ANY($1::bigint[]) AND status = '701001'", ids)[0].as<int>();
    c.course_rows = tx.exec_params1("SELECT count(*) FROM xc_course_tables WHERE choose_course_id = ANY($1::bigint[])", ids)[0].as<int>();
    std::vector<std::string> message_ids;
    for (const auto& [message_id, payment] : payment_of) message_ids.push_back(message_id);
    std::map<std::string, int> inbox_of;  // business_key1 -> inbox rows
    for (const auto& row : tx.exec_params("SELECT message_key FROM processed_message WHERE message_key = ANY($1::text[])",
                                          pg::ArrayLiteral(message_ids))) {
      ++inbox_of[payment_of.at(row[0].as<std::string>())];
      ++c.inbox_rows;
    }
    for (const auto& [payment, n] : inbox_of) c.inbox_once += n == 1 ? 1 : 0;
    if (audit_) {
      const pqxx::row audit = tx.exec_params1(std::string(kAuditCounts), ids);
      c.paid_writes = audit[0].as<int>();
      c.course_row_inserts = audit[1].as<int>();
      c.applied_once = audit[2].as<int>();
      c.applied_twice = audit[3].as<int>();
    }
  }
  return c;
}

Convergence PaySystem::WaitConverged(const std::vector<int64_t>& selections, std::chrono::seconds deadline) {
  Convergence last;
  t::WaitFor(
      [&] {
        try {
          last = Check(selections);
        } catch (const std::exception&) {
          return false;  // a database restarting under us: look again
        }
        // Settled, not Done: once everything is applied and the outbox is empty nothing more
        // happens, so a doubling found then is final and waiting longer would only delay it.
        return last.Settled();
      },
      deadline, std::chrono::milliseconds(250));
  return last;
}

InFlight PaySystem::InFlightNow(const std::vector<int64_t>& selections) {
  const std::string ids = pg::ArrayLiteral(selections);
  const int answered = notified_.load();
  InFlight f;
  {
    pqxx::connection conn(t::PgConnString(t::LearningDb()));
    pqxx::work tx(conn);
    const int applied =
        tx.exec_params1("SELECT count(*) FROM xc_course_tables WHERE choose_course_id = ANY($1::bigint[])", ids)[0].as<int>();
    f.not_applied = static_cast<int>(selections.size()) - applied;
    f.answered_not_applied = std::max(0, answered - applied);
  }
  pqxx::connection conn(t::PgConnString(t::OrdersDb()));
  pqxx::work tx(conn);
  f.outbox_pending =
      tx.exec_params1("SELECT count(*) FROM mq_message WHERE business_key1 = ANY($1::bigint[]::text[])", ids)[0].as<int>();
  return f;
}

double PaySystem::LongestWaitSeconds(const std::vector<int64_t>& selections) {
  const std::string ids = pg::ArrayLiteral(selections);
  std::map<int64_t, double> answered_at;  // selection -> epoch seconds of its first outbox row
  {
    pqxx::connection conn(t::PgConnString(t::OrdersDb()));
    pqxx::work tx(conn);
    for (const auto& row : tx.exec_params(
             "SELECT business_key1::bigint, extract(epoch FROM min(at))::float8 FROM e2e_outbox_audit"
             " WHERE business_key1 = ANY($1::bigint[]::text[]) GROUP BY business_key1",
             ids)) {
      answered_at[row[0].as<int64_t>()] = row[1].as<double>();
    }
  }
  pqxx::connection conn(t::PgConnString(t::LearningDb()));
  pqxx::work tx(conn);
  double longest = -1;
  for (const auto& row : tx.exec_params(
           "SELECT selection_id, extract(epoch FROM min(at))::float8 FROM e2e_apply_audit"
           " WHERE selection_id = ANY($1::bigint[]) AND event = 'course-row' GROUP BY selection_id",
           ids)) {
    const auto it = answered_at.find(row[0].as<int64_t>());
    if (it != answered_at.end()) longest = std::max(longest, row[1].as<double>() - it->second);
  }
  return longest;
}

uint32_t PaySystem::DeadLetterCount() {
  auto connection = amqp::Connection::Open(TestBrokerSettings());
  return amqp::MessageCount(*connection, queue_ + ".dlq");
}

std::vector<std::pair<std::string, std::string>> PaySystem::DrainDeadLetters() {
  std::vector<std::pair<std::string, std::string>> out;
  amqp::Consumer consumer(TestBrokerSettings(), queue_ + ".dlq", 100);
  while (auto delivery = consumer.Next(std::chrono::milliseconds(1000))) {
    std::string reason;
    if (auto it = delivery->headers.find("x-paynotify-reason"); it != delivery->headers.end()) {
      if (auto* s = std::get_if<std::string>(&it->second)) reason = *s;
    }
    out.emplace_back(delivery->body, reason);
    consumer.Ack(delivery->delivery_tag);
  }
  return out;
}

std::string PaySystem::Log(bool order, int replica) const {
  std::ifstream in(order ? order_[replica]->LogPath() : learning_[replica]->LogPath(), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string PaySystem::LogTails() {
  std::string out;
  for (size_t i = 0; i < order_.size(); ++i) out += "--- order-service " + std::to_string(i) + "\n" + order_[i]->LogTail(30);
  for (size_t i = 0; i < learning_.size(); ++i) out += "--- learning-service " + std::to_string(i) + "\n" + learning_[i]->LogTail(30);
  return out;
}

void PrintSummary(const std::string& scenario, const Convergence& c, const std::string& faults,
                  double converge_seconds, const std::string& extra, const std::string& in_flight) {
  // applied_twice comes from the audit triggers (see Convergence), not from counting
  // messages: a second message for a payment is produced_twice, and whether it was applied a
  // second time is what the triggers see below the constraints that would hide it.
  const std::string applied_twice = c.audited ? std::to_string(c.applied_twice) : "n/a(unaudited)";
  std::printf("e2e %s: payments=%d applied=%d lost=%d %s applied_twice=%s faults=[%s]%s%s%s converged_in=%.1fs%s%s\n",
              scenario.c_str(), c.expected, c.course_rows, c.expected - c.course_rows, c.ProducedTwiceText().c_str(),
              applied_twice.c_str(), faults.c_str(), in_flight.empty() ? "" : " in_flight_at_fault=[",
              in_flight.c_str(), in_flight.empty() ? "" : "]", converge_seconds, extra.empty() ? "" : " ", extra.c_str());
  std::fflush(stdout);
}

}  // namespace paynotify::e2e

#include "tests/integration/order/order_it_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <pqxx/pqxx>

#include <nlohmann/json.hpp>

#include "common/amqp/connection.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/topology.hpp"
#include "order-service/intake/signature.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"
#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order::testing {

using namespace std::chrono_literals;
using paynotify::testing::OrdersDb;
using paynotify::testing::PgConnString;
using paynotify::testing::UniqueName;

namespace {
// sql/orders/*.sql of this source tree, in file-name order (as scripts/infra migrate applies
// them). Run with search_path = the test schema first, their unqualified names land there.
std::vector<std::string> OrdersMigrations() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(PAYNOTIFY_ORDERS_SQL_DIR)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no migrations in " PAYNOTIFY_ORDERS_SQL_DIR);
  std::vector<std::string> sql;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read " + file.string());
    sql.push_back(text.str());
  }
  return sql;
}

std::string Identifier(std::string name) {
  for (char& c : name) {
    if (c == '.' || c == '-') c = '_';
  }
  return name;
}
}  // namespace


void OrderServiceIt::SetUp() {
  schema_ = Identifier(UniqueName("order_it"));
  exchange_ = UniqueName("order_it.exchange");
  queue_ = UniqueName("order_it.queue");
  channel_ = Identifier(UniqueName("order_it_outbox"));
  // Every libpq connection of this process (service and test) resolves the orders tables in
  // the private schema first: the relay under test sees only this test's outbox rows.
  const std::string options = "-c search_path=" + schema_ + ",public";
  ::setenv("PGOPTIONS", options.c_str(), 1);
  Exec("CREATE SCHEMA " + schema_);
  // The orders schema as this tree's migrations define it (not copies of whatever the shared
  // database has): a test of a new migration's table runs before `infra migrate` applies it.
  for (const std::string& sql : OrdersMigrations()) Exec(sql);

  broker_ = paynotify::testing::BrokerSettingsFromEnv("order-it " + schema_);
  broker_.reconnect = runtime::BackoffPolicy{200ms, 2.0, 2000ms};
  auto admin = amqp::Connection::Open(broker_);
  amqp::DeclareExchange(*admin, amqp::ExchangeSpec{exchange_, "fanout", true, false});
}

void OrderServiceIt::TearDown() {
  for (auto& service : services_) service->Stop();
  services_.clear();
  try {
    amqp::BrokerSettings admin_settings = broker_;
    admin_settings.connection_name += " cleanup";
    auto admin = amqp::Connection::Open(admin_settings);
    amqp::DeleteQueue(*admin, queue_);
    amqp::DeleteExchange(*admin, exchange_);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cleanup of " << queue_ << " / " << exchange_ << " failed: " << e.what();
  }
  try {
    Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping schema " << schema_ << " failed: " << e.what();
  }
  ::unsetenv("PGOPTIONS");
}

OrderServiceConfig OrderServiceIt::MakeConfig() const {
  OrderServiceConfig c;
  c.server.host = "127.0.0.1";
  c.server.port = 0;
  c.server.name = "public";
  c.server.operator_endpoints = false;
  c.internal_server.host = "127.0.0.1";
  c.internal_server.port = 0;
  c.internal_server.name = "internal";
  c.api_tokens = {kTestApiToken};
  c.database = paynotify::testing::PgSettingsFromEnv(OrdersDb(), "order-it");
  c.database.reconnect = runtime::BackoffPolicy{200ms, 2.0, 2000ms};
  c.database_pool_size = 6;
  c.rabbitmq = broker_;
  RelaySettings& relay = c.relay.core;
  relay.exchange = exchange_;
  relay.app_id = "order-service";
  relay.poll_interval = 50ms;
  relay.batch_size = 500;
  relay.confirm_timeout = 5s;
  relay.retry = runtime::BackoffPolicy{200ms, 2.0, 1000ms};
  relay.broker_reconnect = runtime::BackoffPolicy{200ms, 2.0, 2000ms};
  relay.database_reconnect = runtime::BackoffPolicy{200ms, 2.0, 2000ms};
  relay.stats_interval = 200ms;
  c.relay.notify_channel = channel_;
  c.alipay.app_id = kTestAppId;
  c.alipay.verify_signature = true;
  c.alipay.verifier = SignatureVerifier::FromPublicKey(SharedKeyPair().public_pem);
  return c;
}

OrderService& OrderServiceIt::StartService(OrderServiceOptions options) {
  return StartService(MakeConfig(), options);
}

OrderService& OrderServiceIt::StartService(OrderServiceConfig config, OrderServiceOptions options) {
  services_.push_back(std::make_unique<OrderService>(std::move(config), options));
  services_.back()->Start();
  return *services_.back();
}

void OrderServiceIt::BindQueue() {
  auto admin = amqp::Connection::Open(broker_);
  amqp::DeclareQueue(*admin, amqp::QueueSpec{.name = queue_});
  amqp::BindQueue(*admin, queue_, exchange_);
}

std::vector<amqp::Delivery> OrderServiceIt::Drain(size_t expected, std::chrono::milliseconds deadline,
                                                  std::chrono::milliseconds quiet) {
  amqp::BrokerSettings settings = broker_;
  settings.connection_name += " drain";
  amqp::Consumer consumer(settings, queue_, 200);
  std::vector<amqp::Delivery> got;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (got.size() < expected && std::chrono::steady_clock::now() < until) {
    if (auto d = consumer.Next(100ms)) {
      consumer.Ack(d->delivery_tag);
      got.push_back(std::move(*d));
    }
  }
  const auto quiet_until = std::chrono::steady_clock::now() + quiet;
  while (std::chrono::steady_clock::now() < quiet_until) {
    if (auto d = consumer.Next(50ms)) {
      consumer.Ack(d->delivery_tag);
      got.push_back(std::move(*d));
    }
  }
  consumer.Close();
  return got;
}

int64_t OrderServiceIt::CreateOrder(OrderService& service, const std::string& out_business_id,
                                    const std::string& price) {
  httplib::Client client = ApiClient(service);
  const nlohmann::json body{{"userId", "user-it"},       {"outBusinessId", out_business_id},
                            {"orderType", "60201"},      {"orderName", "Course " + out_business_id},
                            {"totalPrice", price},       {"orderDetail", nlohmann::json::array()}};
  auto result = client.Post("/orders", body.dump(), "application/json");
  if (!result) throw std::runtime_error("POST /orders: no response");
  if (result->status != 201 && result->status != 200) {
    throw std::runtime_error("POST /orders: " + std::to_string(result->status) + " " + result->body);
  }
  return nlohmann::json::parse(result->body).at("payNo").get<int64_t>();
}

std::vector<int64_t> OrderServiceIt::CreateOrders(const std::string& prefix, int count) {
  Exec("WITH o AS (INSERT INTO xc_orders (total_price, user_id, order_type, order_name, out_business_id) "
       "SELECT 12.30, 'user-it', '60201', 'Course', '" + prefix + "-' || g FROM generate_series(1, " +
       std::to_string(count) + ") g ORDER BY g RETURNING id) "
       "INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, user_id) "
       "SELECT nextval('xc_pay_no_seq'), id, 'Course', 12.30, 'user-it' FROM o ORDER BY id");
  std::stringstream list(Scalar("SELECT string_agg(p.pay_no::text, ' ' ORDER BY p.pay_no) FROM xc_pay_record p "
                                "JOIN xc_orders o ON o.id = p.order_id WHERE o.out_business_id LIKE '" +
                                prefix + "-%'"));
  std::vector<int64_t> pay_nos;
  for (int64_t pay_no; list >> pay_no;) pay_nos.push_back(pay_no);
  EXPECT_EQ(pay_nos.size(), static_cast<size_t>(count));
  return pay_nos;
}

httplib::Client OrderServiceIt::ApiClient(OrderService& service) {
  httplib::Client client("127.0.0.1", service.InternalPort());
  client.set_bearer_token_auth(kTestApiToken);
  client.set_read_timeout(30, 0);
  return client;
}

FormFields OrderServiceIt::Notification(int64_t pay_no, const std::string& amount,
                                        const std::string& trade_no) const {
  return FormFields{{"app_id", kTestAppId},
                    {"out_trade_no", std::to_string(pay_no)},
                    {"trade_no", trade_no},
                    {"trade_status", "TRADE_SUCCESS"},
                    {"total_amount", amount},
                    {"subject", "Course"},
                    {"notify_type", "trade_status_sync"},
                    {"charset", "utf-8"},
                    {"sign_type", "RSA2"}};
}

std::string OrderServiceIt::SignedBody(FormFields fields) const {
  fields["sign"] = Rsa2Sign(fields, SharedKeyPair().private_pem);
  return EncodeForm(fields);
}

httplib::Result OrderServiceIt::PostNotify(OrderService& service, const std::string& body) {
  httplib::Client client("127.0.0.1", service.Port());
  client.set_read_timeout(30, 0);
  return client.Post("/orders/paynotify", body, "application/x-www-form-urlencoded");
}

std::string OrderServiceIt::Scalar(const std::string& sql) {
  pqxx::connection conn(PgConnString(OrdersDb()));
  pqxx::work tx(conn);
  const pqxx::result r = tx.exec(sql);
  tx.commit();
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

void OrderServiceIt::Exec(const std::string& sql) {
  pqxx::connection conn(PgConnString(OrdersDb()));
  pqxx::work tx(conn);
  tx.exec0(sql);
  tx.commit();
}

}  // namespace paynotify::order::testing

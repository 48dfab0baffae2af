#include "tests/integration/ctl/ctl_fixture.hpp"

#include <algorithm>

#include "tests/support/migrations.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::ctl::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using paynotify::testing::LearningDb;
using paynotify::testing::OrdersDb;
using paynotify::testing::PgConnString;
using paynotify::testing::RequireEnv;
using paynotify::testing::UniqueName;

namespace {

std::string Identifier(std::string name) {
  for (char& c : name) {
    if (c == '.' || c == '-') c = '_';
  }
  return name;
}

pqxx::result InSchema(const std::string& dbname, const std::string& schema, const std::string& sql) {
  pqxx::connection conn(PgConnString(dbname));
  pqxx::work tx(conn);
  tx.exec0("SET LOCAL search_path TO " + schema);
  pqxx::result r = tx.exec(sql);
  tx.commit();
  return r;
}

}  // namespace

void CtlIt::SetUp() {
  schema_ = Identifier(UniqueName("ctl_it"));
  dir_ = fs::temp_directory_path() / schema_;
  fs::create_directories(dir_);
  for (const auto& [db, sql_dir] : {std::pair{OrdersDb(), std::string(PAYNOTIFY_ORDERS_SQL_DIR)},
                                    std::pair{LearningDb(), std::string(PAYNOTIFY_LEARNING_SQL_DIR)}}) {
    pqxx::connection conn(PgConnString(db));
    pqxx::work tx(conn);
    tx.exec0("CREATE SCHEMA " + schema_);
    tx.exec0("SET LOCAL search_path TO " + schema_);
    for (const std::string& migration : paynotify::testing::ReadMigrations(sql_dir)) tx.exec(migration);
    tx.commit();
  }
  // An operator's copies of the shipped files, reduced to what paynotifyctl reads; the
  // password comes from the environment (Ctl), as with scripts/ctl.
  const std::string database = "  host: " + RequireEnv("PGHOST") + "\n  port: " + RequireEnv("PGPORT") +
                               "\n  user: " + RequireEnv("PGUSER") + "\n  connect-timeout: 2s\n";
  orders_config_ = (dir_ / "order-service.yaml").string();
  std::ofstream(orders_config_) << "database:\n" << database << "  dbname: " << OrdersDb() << "\n"
                                << "relay:\n  max-attempts: 7\n  keep-history: false\n";
  learning_config_ = (dir_ / "learning-service.yaml").string();
  std::ofstream(learning_config_) << "database:\n" << database << "  dbname: " << LearningDb() << "\n";
}

void CtlIt::TearDown() {
  for (const std::string& db : {OrdersDb(), LearningDb()}) {
    try {
      pqxx::connection conn(PgConnString(db));
      pqxx::work tx(conn);
      tx.exec0("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
      tx.commit();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping schema " << schema_ << " in " << db << " failed: " << e.what();
    }
  }
  fs::remove_all(dir_);
}

CtlChild CtlIt::Start(std::vector<std::string> args) {
  args.insert(args.begin(), {"--orders-config", orders_config_, "--learning-config", learning_config_});
  // The child's environment: ours without PAYNOTIFY_* and libpq's PG* (so nothing but the
  // config files and the variables below decide where it connects).
  paynotify::testing::ProgramEnv env{{"PAYNOTIFY_", "PG"},
                                     {{"PAYNOTIFY_DATABASE_PASSWORD", RequireEnv("PGPASSWORD")},
                                      {"PGOPTIONS", "-c search_path=" + schema_}}};
  for (const auto& [name, value] : extra_env_) env.set[name] = value;
  return CtlChild(PAYNOTIFYCTL_BINARY, args, env);
}

CtlRun CtlIt::Ctl(std::vector<std::string> args) { return Start(std::move(args)).Wait(); }

pqxx::result CtlIt::Orders(const std::string& sql) { return InSchema(OrdersDb(), schema_, sql); }
pqxx::result CtlIt::Learning(const std::string& sql) { return InSchema(LearningDb(), schema_, sql); }

std::unique_ptr<pqxx::connection> CtlIt::Connect(const std::string& dbname) const {
  auto conn = std::make_unique<pqxx::connection>(PgConnString(dbname) + " options='-c search_path=" + schema_ + "'");
  return conn;
}

int64_t CtlIt::InsertPayment(const std::string& selection, const std::string& user, bool paid) {
  const std::string order_status = paid ? "600002" : "600001";
  const std::string pay_status = paid ? "601002" : "601001";
  const pqxx::result r = Orders(
      "WITH o AS (INSERT INTO xc_orders (total_price, status, user_id, order_type, order_name, out_business_id) "
      "VALUES (12.30, '" + order_status + "', '" + user + "', '60201', 'course', '" + selection + "') RETURNING id) "
      "INSERT INTO xc_pay_record (pay_no, order_id, order_name, total_price, status, user_id, out_pay_no, "
      "pay_success_time) SELECT nextval('xc_pay_no_seq'), o.id, 'course', 12.30, '" + pay_status + "', '" + user +
      "', " + (paid ? "'T-" + selection + "', now()" : "NULL, NULL") + " FROM o RETURNING pay_no");
  return r[0][0].as<int64_t>();
}

OutboxRow CtlIt::InsertOutbox(const std::string& key, int attempts, int backoff_s, bool parked,
                              const std::string& error) {
  pqxx::connection conn(PgConnString(OrdersDb()));
  pqxx::work tx(conn);
  tx.exec0("SET LOCAL search_path TO " + schema_);
  const pqxx::row r = tx.exec_params1(
      "INSERT INTO mq_message (message_type, business_key1, business_key2, execute_num, returnfailure_msg, "
      "returnfailure_date, next_attempt_at, parked_at) VALUES ('payresult_notify', $1, '60201', $2, "
      "NULLIF($3, ''), CASE WHEN $2 > 0 THEN now() END, now() + $4 * interval '1 second', "
      "CASE WHEN $5 THEN now() END) RETURNING id, message_id::text",
      key, attempts, error, backoff_s, parked);
  tx.commit();
  return OutboxRow{r[0].as<int64_t>(), r[1].as<std::string>()};
}

OutboxRow CtlIt::InsertHistory(const std::string& key) {
  const pqxx::result r = Orders(
      "INSERT INTO mq_message_history (id, message_id, message_type, business_key1, business_key2, state, "
      "returnsuccess_date) VALUES ((SELECT COALESCE(max(id), 0) + 1000 FROM mq_message_history), gen_random_uuid(), "
      "'payresult_notify', '" + key + "', '60201', '1', now()) RETURNING id, message_id::text");
  return OutboxRow{r[0][0].as<int64_t>(), r[0][1].as<std::string>()};
}

int64_t CtlIt::InsertSelection(const std::string& user, int64_t course_id, bool selected) {
  const pqxx::result r = Learning(
      "INSERT INTO xc_choose_course (course_id, course_name, user_id, company_id, order_type, course_price, "
      "valid_days, status) VALUES (" + std::to_string(course_id) + ", 'Java', '" + user + "', 1, '700002', 12.30, 365, '" +
      (selected ? "701001" : "701002") + "') RETURNING id");
  return r[0][0].as<int64_t>();
}

void CtlIt::Apply(int64_t selection, const std::string& message_key) {
  const std::string id = std::to_string(selection);
  Learning("INSERT INTO processed_message (message_key) VALUES ('" + message_key + "');"
           "UPDATE xc_choose_course SET status = '701001', validtime_start = now(), "
           "validtime_end = now() + interval '365 days' WHERE id = " + id + ";"
           "INSERT INTO xc_course_tables (choose_course_id, user_id, course_id, company_id, course_name, course_type, "
           "validtime_start, validtime_end) SELECT id, user_id, course_id, company_id, course_name, order_type, "
           "validtime_start, validtime_end FROM xc_choose_course WHERE id = " + id);
}

}  // namespace paynotify::ctl::testing

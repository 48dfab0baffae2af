#include "tests/integration/ctl/ctl_fixture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/test_env.hpp"

extern char** environ;

namespace paynotify::ctl::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using paynotify::testing::LearningDb;
using paynotify::testing::OrdersDb;
using paynotify::testing::PgConnString;
using paynotify::testing::RequireEnv;
using paynotify::testing::UniqueName;

namespace {

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// sql/<db>/*.sql of this tree in file-name order (as scripts/infra migrate applies them).
std::string Migrations(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no migrations in " + dir);
  std::string sql;
  for (const auto& f : files) sql += ReadFile(f) + "\n";
  return sql;
}

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

nlohmann::json CtlRun::Json() const {
  try {
    return nlohmann::json::parse(out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not one JSON document (" << e.what() << "):\n" << out << "\nstderr:\n" << err;
    return nlohmann::json::object();
  }
}

CtlChild::~CtlChild() {
  if (!done_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

CtlRun CtlChild::Wait(std::chrono::milliseconds deadline) {
  CtlRun run;
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      ADD_FAILURE() << "paynotifyctl did not finish within " << deadline.count() << " ms";
      break;
    }
    std::this_thread::sleep_for(10ms);  // polling a child's exit, not synchronising with it
  }
  done_ = true;
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = ReadFile(out_);
  run.err = ReadFile(err_);
  return run;
}

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
    tx.exec(Migrations(sql_dir));
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
  static int counter = 0;
  const std::string n = std::to_string(++counter);
  const fs::path out = dir_ / ("out" + n), err = dir_ / ("err" + n);
  // The child's environment: ours without PAYNOTIFY_* and libpq's PG* (so nothing but the
  // config files and the two variables below decide where it connects).
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (entry.rfind("PAYNOTIFY_", 0) == 0 || entry.rfind("PG", 0) == 0) continue;
    env.push_back(entry);
  }
  env.push_back("PAYNOTIFY_DATABASE_PASSWORD=" + RequireEnv("PGPASSWORD"));
  env.push_back("PGOPTIONS=-c search_path=" + schema_);
  for (const auto& [name, value] : extra_env_) env.push_back(name + "=" + value);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>(PAYNOTIFYCTL_BINARY)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& v : env) envp.push_back(v.data());
    envp.push_back(nullptr);
    ::execve(PAYNOTIFYCTL_BINARY, argv.data(), envp.data());
    ::_exit(127);
  }
  if (pid < 0) throw std::runtime_error("fork failed");
  return CtlChild(pid, out, err);
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

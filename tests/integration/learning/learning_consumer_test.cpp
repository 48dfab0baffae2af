// learning-service consumer against the real broker and database (issue 4 section 6).
#include <cstdio>
#include <fstream>
#include <random>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/amqp/errors.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {


TEST_F(LearningIntegrationTest, CoursePaymentSelectsTheCourseAndAddsOneCourseTableRow) {
  const int64_t selection = InsertSelection();
  StartService();
  const auto message = PaymentMessage(selection);
  Publish(message);
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 10s));
  EXPECT_EQ(SelectionStatus(selection), "701001");
  EXPECT_EQ(CourseTableRows(selection), 1);
  EXPECT_EQ(ProcessedRows(message.message_id), 1);
  // The course-table row carries the selection's data and a validity window.
  const pqxx::row row = ExecCommitted1(
      LearningDb(),
      "SELECT t.user_id, t.course_type, t.validtime_end > t.validtime_start + interval '364 days', "
      "c.validtime_start IS NOT NULL FROM xc_course_tables t JOIN xc_choose_course c ON c.id = t.choose_course_id "
      "WHERE t.choose_course_id = $1",
      selection);
  EXPECT_EQ(row[0].as<std::string>(), user_);
  EXPECT_EQ(row[1].as<std::string>(), "700002");
  EXPECT_TRUE(row[2].as<bool>());
  EXPECT_TRUE(row[3].as<bool>());
  service_->Stop();
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);  // acked, not merely delivered
}

TEST_F(LearningIntegrationTest, SameMessageTwiceIsAppliedOnce) {
  const int64_t selection = InsertSelection();
  StartService();
  const auto message = PaymentMessage(selection);
  Publish(message);
  Publish(message);
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_duplicates_total") == 1; }, 10s));
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 1);
  EXPECT_EQ(CourseTableRows(selection), 1);
  EXPECT_EQ(ProcessedRows(message.message_id), 1);
  service_->Stop();
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);
}

TEST_F(LearningIntegrationTest, SelectionAlreadySelectedIsASuccess) {
  const int64_t selection = InsertSelection("701001");
  StartService();
  Publish(PaymentMessage(selection));
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 10s));
  EXPECT_EQ(SelectionStatus(selection), "701001");
  EXPECT_EQ(CourseTableRows(selection), 1);
}

TEST_F(LearningIntegrationTest, MaterialOrderIsIgnoredAndAcked) {
  const int64_t selection = InsertSelection();
  StartService();
  Publish(PaymentMessage(selection, "60202"));
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_ignored_total") == 1; }, 10s));
  service_->Stop();
  EXPECT_EQ(SelectionStatus(selection), "701002");
  EXPECT_EQ(CourseTableRows(selection), 0);
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 0u);
}

TEST_F(LearningIntegrationTest, MalformedBodyIsParkedWithItsReason) {
  StartService();
  amqp::OutgoingMessage bad;
  bad.exchange = settings_.topology.exchange;
  bad.message_id = UniqueName("bad");
  bad.body = "{\"id\": 1, \"messageType\": ";
  Publish(bad);
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 10s));
  service_->Stop();
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);

  amqp::Consumer dlq(settings_.broker, settings_.topology.dead_letter_queue, 1);
  auto parked = dlq.Next(5s);
  ASSERT_TRUE(parked.has_value());
  EXPECT_EQ(parked->body, bad.body);
  EXPECT_EQ(parked->message_id, bad.message_id);
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-reason"), "malformed-json");
  EXPECT_NE(HeaderString(parked->headers, "x-paynotify-error").find("body"), std::string::npos);
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-attempts"), "1");
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-original-exchange"), settings_.topology.exchange);
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-original-queue"), settings_.topology.queue);
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-failed-at").size(), 24u);  // 2024-01-01T00:00:00.000Z
  dlq.Ack(parked->delivery_tag);
  dlq.Close();
  EXPECT_EQ(Counter("paynotify_learning_dead_lettered_total", {{"reason", "malformed-json"}}), 1);
}

TEST_F(LearningIntegrationTest, MissingSelectionIsRetriedThroughTheRetryQueuesThenParked) {
  StartService();
  const int64_t missing = 9'000'000'000'000'000'000 + static_cast<int64_t>(std::random_device{}() % 1000000);
  Publish(PaymentMessage(missing));
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 20s));
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "2"}}), 1);
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "3"}}), 1);
  service_->Stop();
  amqp::Consumer dlq(settings_.broker, settings_.topology.dead_letter_queue, 1);
  auto parked = dlq.Next(5s);
  ASSERT_TRUE(parked.has_value());
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-reason"), "selection-missing");
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-attempts"), "3");
  // The retry hop goes through the default exchange; the origin is still named.
  EXPECT_EQ(HeaderString(parked->headers, "x-paynotify-original-exchange"), settings_.topology.exchange);
  dlq.Ack(parked->delivery_tag);
  dlq.Close();
}

TEST_F(LearningIntegrationTest, JavaPlatformMessageWithoutMessageIdIsApplied) {
  const int64_t selection = InsertSelection();
  StartService();
  const int64_t outbox_id = static_cast<int64_t>(std::random_device{}()) * 1000 + 7;
  const std::string key = "payresult_notify:" + std::to_string(outbox_id);
  keys_.push_back(key);
  amqp::OutgoingMessage java;
  java.exchange = settings_.topology.exchange;
  java.content_type = "application/octet-stream";  // Spring's SimpleMessageConverter for byte[]
  // Jackson with NON_NULL: businessKey3 omitted; unknown fields present.
  java.body = R"({"id":)" + std::to_string(outbox_id) + R"(,"messageType":"payresult_notify","businessKey1":")" +
              std::to_string(selection) + R"(","businessKey2":"60201","executeNum":0,"state":"0"})";
  Publish(java);
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 10s));
  EXPECT_EQ(SelectionStatus(selection), "701001");
  EXPECT_EQ(CourseTableRows(selection), 1);
  EXPECT_EQ(ProcessedRows(key), 1);
}

TEST_F(LearningIntegrationTest, AnotherSubscriberQueueGetsItsOwnCopy) {
  const int64_t selection = InsertSelection();
  StartService();
  const std::string other = UniqueName("learning.it.other");
  extra_queues_.push_back(other);
  amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = other});
  amqp::BindQueue(*admin_, other, settings_.topology.exchange);
  Publish(PaymentMessage(selection));
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 10s));
  ASSERT_TRUE(WaitFor([&] { return Ready(other) == 1; }, 5s));
  EXPECT_EQ(CourseTableRows(selection), 1);
}

TEST_F(LearningIntegrationTest, ExistingQueueWithOtherArgumentsIsATopologyMismatchNamingTheArgument) {
  // Someone declared our first retry queue with another TTL.
  amqp::DeclareExchange(*admin_, amqp::ExchangeSpec{.name = settings_.topology.exchange});
  amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = settings_.topology.RetryQueue(1), .message_ttl_ms = 60000});
  LearningService service(settings_, registry_);
  try {
    service.DeclareTopology();
    FAIL() << "expected a topology mismatch";
  } catch (const amqp::TopologyMismatch& e) {
    EXPECT_EQ(e.argument, "x-message-ttl");
    const std::string what = e.what();
    EXPECT_NE(what.find(settings_.topology.RetryQueue(1)), std::string::npos) << what;
    EXPECT_NE(what.find("x-message-ttl"), std::string::npos) << what;
  }
}

/// A config file for the real binary pointing at this test's exchange and queues (secrets
/// come from the environment, as in production).
std::string WriteConfig(const LearningSettings& s) {
  const std::string path = "/tmp/" + UniqueName("learning-it") + ".yaml";
  std::ofstream out(path);
  out << "server: {host: 127.0.0.1, port: 0}\n"
      << "database: {host: " << s.database.host << ", port: " << s.database.port << ", user: " << s.database.user
      << ", dbname: " << s.database.dbname << "}\n"
      << "rabbitmq: {host: " << s.broker.addresses[0].host << ", port: " << s.broker.addresses[0].port
      << ", username: " << s.broker.username << ", virtual-host: '" << s.broker.virtual_host << "',\n"
      << "  listener: {retry: {initial-interval: " << s.topology.retry.backoff.initial.count()
      << "ms, max-interval: " << s.topology.retry.backoff.max.count()
      << "ms, max-attempts: " << s.topology.retry.max_attempts << "}}}\n"
      << "consumer: {exchange: " << s.topology.exchange << ", queue: " << s.topology.queue
      << ", dead-letter-queue: " << s.topology.dead_letter_queue << ", queue-type: " << s.topology.queue_type
      << ", poll-interval: 100ms}\n";
  return path;
}

std::string SecretsEnv(const LearningSettings& s) {
  return "PAYNOTIFY_RABBITMQ_PASSWORD='" + s.broker.password + "' PAYNOTIFY_DATABASE_PASSWORD='" +
         s.database.password + "'";
}

TEST_F(LearningIntegrationTest, BinaryExitsNonZeroNamingTheArgumentOnTopologyMismatch) {
  // The main queue exists as a quorum queue; we are configured for classic.
  amqp::DeclareExchange(*admin_, amqp::ExchangeSpec{.name = settings_.topology.exchange});
  amqp::DeclareQueue(*admin_, amqp::QueueSpec{.name = settings_.topology.queue, .queue_type = "quorum"});
  const std::string config = WriteConfig(settings_);
  const std::string command =
      "env " + SecretsEnv(settings_) + " " + LEARNING_SERVICE_BINARY + " --config " + config + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  std::remove(config.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_NE(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("x-queue-type"), std::string::npos) << output;
  EXPECT_NE(output.find(settings_.topology.queue), std::string::npos) << output;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(LearningIntegrationTest, BinaryAppliesServesTheApiAndStopsCleanlyOnSigterm) {
  const int64_t selection = InsertSelection();
  const std::string config = WriteConfig(settings_);
  const std::string log_path = config + ".log";
  // Everything the child needs is prepared before fork(): only async-signal-safe calls after it.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("PAYNOTIFY_RABBITMQ_PASSWORD=" + settings_.broker.password);
  env_strings.push_back("PAYNOTIFY_DATABASE_PASSWORD=" + settings_.database.password);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string binary = LEARNING_SERVICE_BINARY, flag = "--config", config_arg = config;
  char* argv[] = {binary.data(), flag.data(), config_arg.data(), nullptr};
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(log_fd, 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(log_fd, STDERR_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::execve(argv[0], argv, envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  struct Reap {
    pid_t pid;
    ~Reap() {
      if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reap{pid};

  int port = 0;
  const std::string marker = "ready: http on 127.0.0.1:";
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string text = ReadFile(log_path);
        const auto at = text.find(marker);
        if (at == std::string::npos) return false;
        port = std::atoi(text.c_str() + at + marker.size());
        return port > 0;
      },
      15s))
      << ReadFile(log_path);

  httplib::Client http("127.0.0.1", port);
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready);
  Publish(PaymentMessage(selection));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = http.Get(("/choosecourse/" + std::to_string(selection)).c_str());
        return r && r->status == 200 && r->body.find("\"status\":\"701001\"") != std::string::npos;
      },
      10s))
      << ReadFile(log_path);
  auto tables = http.Get(("/coursetables?userId=" + user_).c_str());
  ASSERT_TRUE(tables);
  EXPECT_EQ(tables->status, 200);
  const auto rows = nlohmann::json::parse(tables->body);
  ASSERT_EQ(rows.size(), 1u) << tables->body;
  EXPECT_EQ(rows[0]["choose_course_id"], selection);
  auto missing = http.Get("/choosecourse/1");
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->status == 404 || missing->status == 200);
  auto bad = http.Get("/choosecourse/abc");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("paynotify_learning_applied_total 1"), std::string::npos) << metrics->body;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(WaitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 15s)) << ReadFile(log_path);
  reap.pid = 0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(log_path);
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);
  std::remove(config.c_str());
  std::remove(log_path.c_str());
}

}  // namespace
}  // namespace paynotify::learning::testing

namespace paynotify::learning::testing {
namespace {

TEST_F(LearningIntegrationTest, QuorumQueuesApplyAndRetryToo) {
  settings_.topology.queue_type = "quorum";
  const int64_t selection = InsertSelection();
  StartService();
  Publish(PaymentMessage(selection));
  const int64_t missing = 9'100'000'000'000'000'000 + static_cast<int64_t>(std::random_device{}() % 1000000);
  Publish(PaymentMessage(missing));
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 1; }, 10s));
  // The missing one goes round the (quorum, TTL) retry queues and ends up parked.
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 20s));
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "3"}}), 1);
  EXPECT_EQ(CourseTableRows(selection), 1);
}

}  // namespace
}  // namespace paynotify::learning::testing

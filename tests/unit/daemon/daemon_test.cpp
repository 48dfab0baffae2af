// The daemon skeleton with a fake component and fake signals: start retried while the
// failure is transient and cut short by a signal, permanent failures exit 1, usage and
// config errors exit 2, and the drain (Stop) runs on every way out once something was built.
#include "common/daemon/daemon.hpp"
#include "common/pg/connection.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "common/amqp/errors.hpp"

namespace paynotify::daemon {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Connect() throws the queued failures, one per call, then succeeds.
class FakeComponent final : public Component {
 public:
  std::deque<std::function<void()>> connect_failures;
  std::function<void()> on_start;
  int connects = 0;
  int starts = 0;
  int stops = 0;

  void Connect() override {
    ++connects;
    if (connect_failures.empty()) return;
    auto fail = std::move(connect_failures.front());
    connect_failures.pop_front();
    fail();
  }
  void Start() override {
    ++starts;
    if (on_start) on_start();
  }
  void Stop() noexcept override { ++stops; }
};

// WaitFor() returns the scripted answers in order (nullopt = the back-off passed), recording
// each timeout; Wait() returns SIGTERM at once.
class FakeSignals final : public Signals {
 public:
  std::deque<std::optional<int>> answers;
  std::vector<std::chrono::milliseconds> waits;
  int blocking_waits = 0;

  std::optional<int> WaitFor(std::chrono::milliseconds timeout) override {
    waits.push_back(timeout);
    if (answers.empty()) return std::nullopt;
    auto answer = answers.front();
    answers.pop_front();
    return answer;
  }
  int Wait() override {
    ++blocking_waits;
    return SIGTERM;
  }
};

const runtime::BackoffPolicy kBackoff{100ms, 2.0, 1000ms};

void BrokerDown() { throw amqp::LibraryError("connecting to 127.0.0.1:5672: connection refused", true, -9); }
void DatabaseDown() { throw pqxx::broken_connection("could not connect to server: Connection refused"); }

TEST(DaemonRun, RetriesTransientStartFailuresWithBackoffThenServesUntilASignal) {
  FakeComponent component;
  component.connect_failures = {BrokerDown, DatabaseDown, BrokerDown};
  FakeSignals signals;
  EXPECT_EQ(daemon::Run(component, kBackoff, signals, "test-daemon"), 0);
  EXPECT_EQ(component.connects, 4);
  EXPECT_THAT(signals.waits, ElementsAre(100ms, 200ms, 400ms));
  EXPECT_EQ(component.starts, 1);
  EXPECT_EQ(signals.blocking_waits, 1);
  EXPECT_EQ(component.stops, 1);
}

TEST(DaemonRun, ASignalDuringTheStartBackoffEndsItAtOnceWithExitZero) {
  FakeComponent component;
  component.connect_failures = {DatabaseDown, DatabaseDown, DatabaseDown};
  FakeSignals signals;
  signals.answers = {std::nullopt, SIGTERM};
  EXPECT_EQ(daemon::Run(component, kBackoff, signals, "test-daemon"), 0);
  EXPECT_EQ(component.connects, 2);
  EXPECT_THAT(signals.waits, ElementsAre(100ms, 200ms));
  EXPECT_EQ(component.starts, 0) << "never started after the signal";
  EXPECT_EQ(component.stops, 1);
}

TEST(DaemonRun, ATopologyMismatchExitsOneWithoutWaiting) {
  FakeComponent component;
  component.connect_failures = {[] {
    throw amqp::TopologyMismatch("queue 'q': inequivalent arg 'x-message-ttl'", 406, "PRECONDITION_FAILED",
                                 "x-message-ttl");
  }};
  FakeSignals signals;
  EXPECT_EQ(daemon::Run(component, kBackoff, signals, "test-daemon"), 1);
  EXPECT_THAT(signals.waits, IsEmpty());
  EXPECT_EQ(component.starts, 0);
  EXPECT_EQ(component.stops, 1);
}

TEST(DaemonRun, ARefusedLoginExitsOne) {
  FakeComponent component;
  component.connect_failures = {[] {
    throw amqp::ConnectionClosed("ACCESS_REFUSED - Login was refused", false, 403, "ACCESS_REFUSED");
  }};
  FakeSignals signals;
  EXPECT_EQ(daemon::Run(component, kBackoff, signals, "test-daemon"), 1);
  EXPECT_THAT(signals.waits, IsEmpty());
}

TEST(DaemonRun, AFailedStartExitsOneAndStillDrains) {
  FakeComponent component;
  component.on_start = [] { throw std::runtime_error("cannot bind 127.0.0.1:8081: address in use"); };
  FakeSignals signals;
  EXPECT_EQ(daemon::Run(component, kBackoff, signals, "test-daemon"), 1);
  EXPECT_EQ(signals.blocking_waits, 0);
  EXPECT_EQ(component.stops, 1);
}

TEST(DaemonIsTransient, UsesTheAmqpAndPgClassifiers) {
  EXPECT_TRUE(IsTransient(amqp::LibraryError("socket closed", true, -9)));
  EXPECT_FALSE(IsTransient(amqp::ConnectionClosed("ACCESS_REFUSED", false, 403, "ACCESS_REFUSED")));
  EXPECT_FALSE(IsTransient(amqp::TopologyMismatch("mismatch", 406, "PRECONDITION_FAILED", "durable")));
  EXPECT_TRUE(IsTransient(pqxx::broken_connection("server closed the connection")));
  EXPECT_FALSE(IsTransient(pqxx::sql_error("relation \"x\" does not exist", "SELECT 1", "42P01")));
  EXPECT_FALSE(IsTransient(std::runtime_error("anything else")));
  // A wrong database password at start (pg::ConnectAtStart): the daemon exits 1.
  EXPECT_FALSE(IsTransient(pg::LoginRefused("the database server refused the login")));
}

// Main itself: everything up to the component.
struct TestConfig {
  int64_t answer = 0;
  log::LogSettings log;
};

class DaemonMain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("paynotify-daemon-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteConfig(const std::string& text) {
    const auto path = (dir_ / "test-daemon.yaml").string();
    std::ofstream(path) << text;
    return path;
  }

  int RunMain(std::vector<std::string> args) {
    args.insert(args.begin(), "test-daemon");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    Spec<TestConfig> spec{
        .name = "test-daemon",
        .default_config = (dir_ / "missing.yaml").string(),
        .read_config =
            [](config::Reader& reader) {
              TestConfig c;
              c.answer = reader.Int("answer", 0, 0, 100);
              c.log.level = reader.String("log.level", "info");
              return c;
            },
        .start_backoff = [](const TestConfig&) { return kBackoff; },
        .build =
            [this](TestConfig c) {
              built_answer_ = c.answer;
              auto component = std::make_unique<FakeComponent>();
              // SIGTERM is blocked by now: it stays pending until Main's sigwait takes it.
              component->on_start = [] { ::raise(SIGTERM); };
              return component;
            },
    };
    return Main(static_cast<int>(args.size()), argv.data(), spec);
  }

  std::filesystem::path dir_;
  std::optional<int64_t> built_answer_;
};

TEST_F(DaemonMain, UnknownArgumentIsAUsageErrorExitTwo) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain({"--frobnicate"}), 2);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("unknown argument '--frobnicate'"));
  EXPECT_FALSE(built_answer_);
}

TEST_F(DaemonMain, HelpExitsZero) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunMain({"--help"}), 0);
  EXPECT_THAT(::testing::internal::GetCapturedStdout(), HasSubstr("--check-config"));
}

TEST_F(DaemonMain, ConfigErrorsAreAllListedExitTwo) {
  const std::string path = WriteConfig("answer: 420\nlog:\n  levle: debug\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain({"--config", path}), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("invalid configuration (2 errors)"));
  EXPECT_THAT(err, HasSubstr("answer"));
  EXPECT_THAT(err, HasSubstr("did you mean 'log.level'?"));
  EXPECT_FALSE(built_answer_);
}

TEST_F(DaemonMain, TheDefaultConfigPathIsUsedWithoutConfig) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain({}), 2);
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("missing.yaml"));
}

TEST_F(DaemonMain, CheckConfigPrintsTheConfigAndBuildsNothing) {
  const std::string path = WriteConfig("answer: 42\n");
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunMain({"--config", path, "--check-config"}), 0);
  EXPECT_THAT(::testing::internal::GetCapturedStdout(), HasSubstr("answer: 42"));
  EXPECT_FALSE(built_answer_);
}

TEST_F(DaemonMain, RunsTheComponentUntilSigtermAndExitsZero) {
  const std::string path = WriteConfig("answer: 42\nlog:\n  level: warn\n");
  EXPECT_EQ(RunMain({"--config", path}), 0);
  EXPECT_EQ(built_answer_, 42);
}

}  // namespace
}  // namespace paynotify::daemon

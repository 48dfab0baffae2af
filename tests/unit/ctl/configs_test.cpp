// Which config errors a paynotifyctl command reports: those of the file itself and of the
// sections it uses, exactly as the daemon's reader words them; nothing about keys it does not
// use (the operator needs no order-api token to list the outbox).
#include "paynotifyctl/app/configs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace paynotify::ctl {
namespace {

using ::testing::HasSubstr;

const std::string kShippedOrders = std::string(PAYNOTIFY_SOURCE_DIR) + "/config/order-service.yaml";
const std::string kShippedLearning = std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml";

class CtlConfigs : public ::testing::Test {
 protected:
  void SetUp() override {
    // The daemons' secrets are not the tool's business: without them it still reads.
    for (const char* name : {"PAYNOTIFY_ORDER_API_TOKEN", "PAYNOTIFY_RABBITMQ_PASSWORD", "PAYNOTIFY_DATABASE_PASSWORD",
                             "PAYNOTIFY_DATABASE_PORT", "PAYNOTIFY_DATABASE_DBNAME", "PAYNOTIFY_ALIPAY_PUBLIC_KEY_FILE"}) {
      ::unsetenv(name);
    }
    dir_ = std::filesystem::temp_directory_path() / ("ctl_configs_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& yaml) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << yaml;
    return path;
  }

  std::string ErrorsOf(const std::function<void()>& read) {
    try {
      read();
    } catch (const config::ConfigErrors& e) {
      return e.what();
    }
    return {};
  }

  std::filesystem::path dir_;
};

TEST_F(CtlConfigs, TheShippedFilesReadWithoutTheDaemonsSecrets) {
  const order::OrderServiceConfig o = ReadOrdersConfig(kShippedOrders, {"database", "relay"});
  EXPECT_EQ(o.database.dbname, "paynotify_orders");
  EXPECT_EQ(o.relay.core.max_attempts, 20);
  const learning::LearningSettings l = ReadLearningConfig(kShippedLearning, {"database"});
  EXPECT_EQ(l.database.dbname, "paynotify_learning");
}

TEST_F(CtlConfigs, EnvironmentOverridesApplyAsForTheDaemon) {
  ::setenv("PAYNOTIFY_DATABASE_PORT", "25432", 1);
  ::setenv("PAYNOTIFY_DATABASE_PASSWORD", "pw", 1);
  const order::OrderServiceConfig o = ReadOrdersConfig(kShippedOrders, {"database"});
  EXPECT_EQ(o.database.port, 25432);
  EXPECT_EQ(o.database.password, "pw");
  ::setenv("PAYNOTIFY_DATABASE_PORT", "none", 1);
  EXPECT_THAT(ErrorsOf([] { ReadOrdersConfig(kShippedOrders, {"database"}); }),
              HasSubstr("database.port: expected an integer between 1 and 65535, got 'none' (from environment "
                        "PAYNOTIFY_DATABASE_PORT)"));
}

TEST_F(CtlConfigs, ErrorsInUsedSectionsNameFileLineAndKey) {
  const std::string path = Write("orders.yaml",
                                 "database:\n"
                                 "  host: 127.0.0.1\n"
                                 "  port: abc\n"
                                 "  hots: x\n"
                                 "  dbname: paynotify_orders\n");
  const std::string errors = ErrorsOf([&] { ReadOrdersConfig(path, {"database"}); });
  EXPECT_THAT(errors, HasSubstr(path + ":3:9: database.port: expected an integer"));
  EXPECT_THAT(errors, HasSubstr(path + ":4:3: database.hots: unknown key; did you mean 'database.host'?"));
}

TEST_F(CtlConfigs, ErrorsInSectionsACommandDoesNotUseAreLeftToTheDaemon) {
  const std::string path = Write("orders.yaml",
                                 "database:\n"
                                 "  dbname: paynotify_orders\n"
                                 "server:\n"
                                 "  port: not-a-port\n"
                                 "relay:\n"
                                 "  max-attempts: 0\n");
  EXPECT_EQ(ErrorsOf([&] { ReadOrdersConfig(path, {"database"}); }), "");
  EXPECT_THAT(ErrorsOf([&] { ReadOrdersConfig(path, {"database", "relay"}); }), HasSubstr("relay.max-attempts"));
}

TEST_F(CtlConfigs, AMissingOrBrokenFileIsAlwaysAnError) {
  EXPECT_THAT(ErrorsOf([&] { ReadOrdersConfig((dir_ / "nope.yaml").string(), {"database"}); }),
              HasSubstr("cannot read config file"));
  const std::string path = Write("broken.yaml", "database: [\n");
  EXPECT_THAT(ErrorsOf([&] { ReadLearningConfig(path, {"database"}); }), HasSubstr("invalid YAML"));
}

TEST_F(CtlConfigs, OptionalSectionsReportTheirErrorsWithoutFailing) {
  // No PAYNOTIFY_RABBITMQ_PASSWORD: fatal for dlq, only a note for trace.
  std::vector<config::ConfigError> optional;
  const learning::LearningSettings l =
      ReadLearningConfig(kShippedLearning, {"database"}, {"rabbitmq", "consumer"}, &optional);
  EXPECT_EQ(l.database.dbname, "paynotify_learning");
  ASSERT_EQ(optional.size(), 1u);
  EXPECT_EQ(optional[0].key_path, "rabbitmq.password");
  EXPECT_THAT(ErrorsOf([] { ReadLearningConfig(kShippedLearning, {"rabbitmq"}); }), HasSubstr("rabbitmq.password"));
}

TEST_F(CtlConfigs, ErrorsInKeepsFileErrorsAndTheNamedSectionsOnly) {
  const std::vector<config::ConfigError> all = {{"f", 0, 0, "", "cannot read"},
                                                {"f", 1, 1, "database", "expected a map"},
                                                {"f", 2, 1, "database.port", "bad"},
                                                {"f", 3, 1, "databases.x", "unknown key"},
                                                {"f", 4, 1, "order-api.token", "required"}};
  const auto kept = ErrorsIn(all, {"database"});
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].key_path, "");
  EXPECT_EQ(kept[1].key_path, "database");
  EXPECT_EQ(kept[2].key_path, "database.port");
}

}  // namespace
}  // namespace paynotify::ctl

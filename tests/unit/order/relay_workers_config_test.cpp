// relay.workers in order-service's config schema (issue 15 §2, relay round trips): the
// default, the shipped file, the environment, the bounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "order-service/app/order_config.hpp"
#include "tests/unit/order/order_config_env.hpp"

namespace paynotify::order {
namespace {

using ::testing::HasSubstr;

using testing::FinishError;
constexpr auto Env = &testing::OrderConfigEnv;  // the required settings plus the keys under test

TEST(RelayWorkersConfig, DefaultIsTwoWorkers) {
  auto reader = config::Reader::FromString("{}\n", "orders.yaml", "PAYNOTIFY", Env({}));
  const OrderServiceConfig c = ReadOrderConfig(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(c.relay.workers, 2u);
  EXPECT_EQ(RelayConfig{}.workers, 2u);  // embedders and tests get the same
}

TEST(RelayWorkersConfig, ShippedConfigStatesTheDefault) {
  config::Reader reader(PAYNOTIFY_SOURCE_DIR "/config/order-service.yaml", "PAYNOTIFY",
                        [](const std::string&) { return std::nullopt; });
  EXPECT_EQ(reader.Int("relay.workers", -1), 2);
  EXPECT_TRUE(reader.Errors().empty());
}

TEST(RelayWorkersConfig, TheEnvironmentOverridesTheFile) {
  auto reader = config::Reader::FromString("relay:\n  workers: 3\n", "orders.yaml", "PAYNOTIFY",
                                           Env({{"PAYNOTIFY_RELAY_WORKERS", "1"}}));
  const OrderServiceConfig c = ReadOrderConfig(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(c.relay.workers, 1u);
}

TEST(RelayWorkersConfig, ZeroAndTooManyAreErrorsNamingTheKey) {
  for (const char* value : {"0", "17", "two"}) {
    auto reader = config::Reader::FromString(std::string("relay:\n  workers: ") + value + "\n", "orders.yaml",
                                             "PAYNOTIFY", Env({}));
    ReadOrderConfig(reader);
    EXPECT_THAT(FinishError(reader), HasSubstr("relay.workers")) << value;
  }
}

}  // namespace
}  // namespace paynotify::order

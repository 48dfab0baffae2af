// intake.max-batch and intake.max-batches-in-flight in order-service's config schema
// (issue 15 §2): defaults, the shipped file, the environment, the bounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "order-service/app/order_config.hpp"
#include "tests/unit/order/order_config_env.hpp"
#include "order-service/intake/intake.hpp"

namespace paynotify::order {
namespace {

using ::testing::HasSubstr;

using testing::FinishError;
constexpr auto Env = &testing::OrderConfigEnv;  // the required settings plus the keys under test

TEST(IntakeGroupConfig, DefaultsGroupUpTo32WithOneGroupInFlight) {
  auto reader = config::Reader::FromString("{}\n", "orders.yaml", "PAYNOTIFY", Env({}));
  const OrderServiceConfig c = ReadOrderConfig(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(c.intake_max_batch, 32u);
  EXPECT_EQ(c.intake_max_batches_in_flight, 1u);
  // The intake's own defaults (tests, embedders) are the same.
  EXPECT_EQ(IntakeSettings{}.max_batch, 32u);
  EXPECT_EQ(IntakeSettings{}.max_batches_in_flight, 1u);
}

TEST(IntakeGroupConfig, ShippedConfigStatesTheDefaults) {
  config::Reader reader(PAYNOTIFY_SOURCE_DIR "/config/order-service.yaml", "PAYNOTIFY",
                        [](const std::string&) { return std::nullopt; });
  EXPECT_EQ(reader.Int("intake.max-batch", -1), 32);
  EXPECT_EQ(reader.Int("intake.max-batches-in-flight", -1), 1);
  EXPECT_TRUE(reader.Errors().empty());
}

TEST(IntakeGroupConfig, TheEnvironmentOverridesAndOneTurnsGroupingOff) {
  auto reader = config::Reader::FromString("intake:\n  max-batch: 8\n", "orders.yaml", "PAYNOTIFY",
                                           Env({{"PAYNOTIFY_INTAKE_MAX_BATCH", "1"},
                                                {"PAYNOTIFY_INTAKE_MAX_BATCHES_IN_FLIGHT", "2"}}));
  const OrderServiceConfig c = ReadOrderConfig(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(c.intake_max_batch, 1u);
  EXPECT_EQ(c.intake_max_batches_in_flight, 2u);
}

TEST(IntakeGroupConfig, OutOfRangeValuesAreErrors) {
  auto reader = config::Reader::FromString("intake:\n  max-batch: 0\n  max-batches-in-flight: 65\n",
                                           "orders.yaml", "PAYNOTIFY", Env({}));
  ReadOrderConfig(reader);
  const std::string errors = FinishError(reader);
  EXPECT_THAT(errors, HasSubstr("intake.max-batch"));
  EXPECT_THAT(errors, HasSubstr("intake.max-batches-in-flight"));
}

TEST(IntakeGroupConfig, MoreGroupsInFlightThanPooledConnectionsIsAnError) {
  auto reader = config::Reader::FromString("database:\n  pool-size: 2\nintake:\n  max-batches-in-flight: 3\n",
                                           "orders.yaml", "PAYNOTIFY", Env({}));
  ReadOrderConfig(reader);
  const std::string errors = FinishError(reader);
  EXPECT_THAT(errors, HasSubstr("intake.max-batches-in-flight"));
  EXPECT_THAT(errors, HasSubstr("must not exceed database.pool-size (2)"));
}

}  // namespace
}  // namespace paynotify::order

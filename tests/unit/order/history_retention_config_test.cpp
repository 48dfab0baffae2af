// relay.history-retention and the shared retention.* keys in order-service's config schema
// (issue 11 §4): defaults, the shipped file, the floor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "order-service/app/order_config.hpp"
#include "tests/unit/order/order_config_env.hpp"

namespace paynotify::order {
namespace {

using ::testing::HasSubstr;

using testing::FinishError;
constexpr auto Env = &testing::OrderConfigEnv;  // the required settings plus the keys under test

TEST(HistoryRetentionConfig, DefaultsToThirtyDays) {
  auto reader = config::Reader::FromString("{}\n", "orders.yaml", "PAYNOTIFY", Env({}));
  const OrderServiceConfig c = ReadOrderConfig(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(c.relay.history_retention.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(c.relay.history_retention.batch_size, 5000u);
  EXPECT_EQ(c.relay.history_retention.backoff.initial, c.database.reconnect.initial);
  // A default-constructed config (tests, embedders) means the same.
  EXPECT_EQ(RelayConfig{}.history_retention.retention, std::chrono::hours(24 * 30));
}

TEST(HistoryRetentionConfig, ShippedConfigStatesTheDefaults) {
  config::Reader reader(PAYNOTIFY_SOURCE_DIR "/config/order-service.yaml", "PAYNOTIFY",
                        [](const std::string&) { return std::nullopt; });
  constexpr std::chrono::milliseconds kMissing{-1};
  EXPECT_EQ(reader.Duration("relay.history-retention", kMissing), kDefaultHistoryRetention);
  EXPECT_EQ(reader.Int("retention.batch-size", -1), 5000);
  EXPECT_EQ(reader.Duration("retention.batch-pause", kMissing), std::chrono::milliseconds(100));
  EXPECT_EQ(reader.Duration("retention.idle-interval", kMissing), std::chrono::minutes(1));
  EXPECT_TRUE(reader.Errors().empty());
}

TEST(HistoryRetentionConfig, KeysAreRead) {
  auto reader = config::Reader::FromString(
      "relay:\n  history-retention: 90d\nretention:\n  batch-size: 500\n  batch-pause: 0\n  idle-interval: 5m\n",
      "orders.yaml", "PAYNOTIFY", Env({}));
  const OrderServiceConfig c = ReadOrderConfig(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(c.relay.history_retention.retention, std::chrono::hours(24 * 90));
  EXPECT_EQ(c.relay.history_retention.batch_size, 500u);
  EXPECT_EQ(c.relay.history_retention.batch_pause, std::chrono::milliseconds(0));
  EXPECT_EQ(c.relay.history_retention.idle_interval, std::chrono::minutes(5));
}

TEST(HistoryRetentionConfig, BelowAnHourIsAnErrorWithTheLine) {
  auto reader = config::Reader::FromString("relay:\n  history-retention: 30\n", "orders.yaml", "PAYNOTIFY", Env({}));
  ReadOrderConfig(reader);
  const std::string error = FinishError(reader);
  EXPECT_THAT(error, HasSubstr("orders.yaml:2:22: relay.history-retention: must be at least 1h (got 30ms)"));
}

}  // namespace
}  // namespace paynotify::order

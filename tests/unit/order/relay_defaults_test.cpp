// relay.* has one default per key: RelaySettings' (ReadOrderConfig takes its defaults from a
// default-constructed RelaySettings). The shipped config/order-service.yaml spells the keys
// out for the operator; it must say the same values, or the file and the code drift apart
// (issue 14: batch-size was 500 in code and 2000 in the file).
#include <gtest/gtest.h>

#include "common/config/reader.hpp"
#include "order-service/relay/relay.hpp"

namespace paynotify::order {
namespace {

TEST(RelayDefaults, TheShippedConfigStatesTheCodeDefaults) {
  config::Reader reader(PAYNOTIFY_SOURCE_DIR "/config/order-service.yaml", "PAYNOTIFY",
                        [](const std::string&) { return std::nullopt; });
  const RelaySettings defaults;
  // A fallback no file would hold: a key missing from the file shows up as a mismatch.
  constexpr std::chrono::milliseconds kMissing{-1};
  EXPECT_EQ(reader.Int("relay.batch-size", -1), static_cast<int64_t>(defaults.batch_size));
  EXPECT_EQ(reader.Duration("relay.poll-interval", kMissing), defaults.poll_interval);
  EXPECT_EQ(reader.Duration("relay.confirm-timeout", kMissing), defaults.confirm_timeout);
  EXPECT_EQ(reader.Duration("relay.stats-interval", kMissing), defaults.stats_interval);
  EXPECT_EQ(reader.Duration("relay.retry.initial-interval", kMissing), defaults.retry.initial);
  EXPECT_EQ(reader.Double("relay.retry.multiplier", -1), defaults.retry.multiplier);
  EXPECT_EQ(reader.Duration("relay.retry.max-interval", kMissing), defaults.retry.max);
  EXPECT_EQ(reader.Int("relay.max-attempts", -1), defaults.max_attempts);
  EXPECT_TRUE(reader.Errors().empty());
}

}  // namespace
}  // namespace paynotify::order

// learning-service's config schema: the shipped file reads cleanly, and the batch settings
// are checked against each other with the file and line named.
#include "learning-service/app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace paynotify::learning {
namespace {

using ::testing::HasSubstr;

config::Reader::EnvLookup Env(std::map<std::string, std::string> values) {
  values.emplace("PAYNOTIFY_RABBITMQ_PASSWORD", "secret");  // secrets come from the environment
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    if (auto it = values.find(name); it != values.end()) return it->second;
    return std::nullopt;
  };
}

std::string FinishError(config::Reader& reader) {
  try {
    reader.Finish();
  } catch (const config::ConfigErrors& e) {
    return e.what();
  }
  return {};
}

TEST(LearningSettings, ShippedConfigReadsCleanlyWithBatchingOn) {
  config::Reader reader(std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml", "PAYNOTIFY", Env({}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.prefetch, 250);
  EXPECT_EQ(s.batch_size, 100);
  EXPECT_LE(s.batch_size, s.prefetch);
  EXPECT_EQ(s.max_body_bytes, 262144u);
}

TEST(LearningSettings, BatchLargerThanPrefetchIsAnErrorNamingBothKeysAndTheLine) {
  auto reader = config::Reader::FromString("rabbitmq:\n  listener:\n    prefetch: 20\n    batch-size: 50\n",
                                           "learning.yaml", "PAYNOTIFY", Env({}));
  ReadLearningSettings(reader);
  const std::string error = FinishError(reader);
  EXPECT_THAT(error, HasSubstr("learning.yaml:4"));
  EXPECT_THAT(error, HasSubstr("rabbitmq.listener.batch-size"));
  EXPECT_THAT(error, HasSubstr("must not exceed rabbitmq.listener.prefetch (20)"));
}

TEST(LearningSettings, BatchSizeOneMeansOneTransactionPerMessage) {
  auto reader = config::Reader::FromString("database:\n  dbname: learning\n", "learning.yaml", "PAYNOTIFY",
                                           Env({{"PAYNOTIFY_RABBITMQ_LISTENER_BATCH_SIZE", "1"}}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.batch_size, 1);
}

TEST(LearningSettings, MaxBodyBytesDefaultsTo256KiBAndIsRangeChecked) {
  auto defaults = config::Reader::FromString("database:\n  dbname: learning\n", "learning.yaml", "PAYNOTIFY", Env({}));
  EXPECT_EQ(ReadLearningSettings(defaults).max_body_bytes, 256u * 1024);
  EXPECT_EQ(FinishError(defaults), "");

  auto larger = config::Reader::FromString(
      "database:\n  dbname: learning\nrabbitmq:\n  listener:\n    max-body-bytes: 1048576\n", "learning.yaml",
      "PAYNOTIFY", Env({}));
  EXPECT_EQ(ReadLearningSettings(larger).max_body_bytes, 1048576u);
  EXPECT_EQ(FinishError(larger), "");

  auto tiny = config::Reader::FromString("database:\n  dbname: learning\n", "learning.yaml", "PAYNOTIFY",
                                         Env({{"PAYNOTIFY_RABBITMQ_LISTENER_MAX_BODY_BYTES", "10"}}));
  ReadLearningSettings(tiny);
  EXPECT_THAT(FinishError(tiny), HasSubstr("rabbitmq.listener.max-body-bytes"));
}

}  // namespace
}  // namespace paynotify::learning

namespace paynotify::learning {
namespace {

// consumer.dedup-retention (issue 11 §4): read with days, defaulted to 14 days, and refused
// when it is short enough to forget a message that can still come back.
TEST(LearningSettings, DedupRetentionDefaultsToFourteenDaysAndPacingToTheSharedDefaults) {
  auto reader = config::Reader::FromString("database:\n  dbname: learning\n", "learning.yaml", "PAYNOTIFY", Env({}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.inbox_retention.retention, std::chrono::hours(24 * 14));
  EXPECT_EQ(s.inbox_retention.batch_size, 5000u);
  EXPECT_EQ(s.inbox_retention.batch_pause, std::chrono::milliseconds(100));
  EXPECT_EQ(s.inbox_retention.idle_interval, std::chrono::minutes(1));
  // The retention backs off like every other database user of the daemon.
  EXPECT_EQ(s.inbox_retention.backoff.initial, s.database.reconnect.initial);
  EXPECT_EQ(s.inbox_retention.backoff.max, s.database.reconnect.max);
}

TEST(LearningSettings, ShippedConfigStatesTheRetentionDefaults) {
  config::Reader reader(std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml", "PAYNOTIFY", Env({}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  constexpr std::chrono::milliseconds kMissing{-1};
  config::Reader raw(std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml", "PAYNOTIFY", Env({}));
  EXPECT_EQ(raw.Duration("consumer.dedup-retention", kMissing), s.inbox_retention.retention);
  EXPECT_EQ(raw.Int("retention.batch-size", -1), 5000);
  EXPECT_EQ(raw.Duration("retention.batch-pause", kMissing), s.inbox_retention.batch_pause);
  EXPECT_EQ(raw.Duration("retention.idle-interval", kMissing), s.inbox_retention.idle_interval);
}

TEST(LearningSettings, DedupRetentionAndPacingAreRead) {
  auto reader = config::Reader::FromString(
      "database:\n  dbname: learning\nconsumer:\n  dedup-retention: 30d\nretention:\n  batch-size: 1000\n"
      "  batch-pause: 1s\n  idle-interval: 10m\n",
      "learning.yaml", "PAYNOTIFY", Env({}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.inbox_retention.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(s.inbox_retention.batch_size, 1000u);
  EXPECT_EQ(s.inbox_retention.batch_pause, std::chrono::seconds(1));
  EXPECT_EQ(s.inbox_retention.idle_interval, std::chrono::minutes(10));
}

TEST(LearningSettings, DedupRetentionFromTheEnvironment) {
  auto reader = config::Reader::FromString("database:\n  dbname: learning\n", "learning.yaml", "PAYNOTIFY",
                                           Env({{"PAYNOTIFY_CONSUMER_DEDUP_RETENTION", "36h"}}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.inbox_retention.retention, std::chrono::hours(36));
}

TEST(LearningSettings, DedupRetentionBelowAnHourIsAnError) {
  // "14" without a unit is 14 milliseconds: the floor catches it.
  for (const char* value : {"30m", "14", "0"}) {
    auto reader = config::Reader::FromString(
        std::string("database:\n  dbname: learning\nconsumer:\n  dedup-retention: ") + value + "\n", "learning.yaml",
        "PAYNOTIFY", Env({}));
    ReadLearningSettings(reader);
    const std::string error = FinishError(reader);
    EXPECT_THAT(error, HasSubstr("learning.yaml:4:20: consumer.dedup-retention: must be at least 1h")) << value;
    EXPECT_THAT(error, HasSubstr("recognised as applied")) << value;
  }
}

TEST(LearningSettings, DedupRetentionMustOutlastTheRetryChain) {
  // 100 attempts, each retry waiting up to 12h: the chain is about 49 days, longer than 14d.
  auto reader = config::Reader::FromString(
      "database:\n  dbname: learning\nrabbitmq:\n  listener:\n    retry:\n      initial-interval: 1h\n"
      "      max-interval: 12h\n      max-attempts: 100\n",
      "learning.yaml", "PAYNOTIFY", Env({}));
  ReadLearningSettings(reader);
  const std::string error = FinishError(reader);
  EXPECT_THAT(error, HasSubstr("consumer.dedup-retention: must be at least"));
  EXPECT_THAT(error, HasSubstr("longer than the retry chain of rabbitmq.listener.retry.*"));

  // The same chain with a retention longer than it is fine.
  auto longer = config::Reader::FromString(
      "database:\n  dbname: learning\nrabbitmq:\n  listener:\n    retry:\n      initial-interval: 1h\n"
      "      max-interval: 12h\n      max-attempts: 100\nconsumer:\n  dedup-retention: 60d\n",
      "learning.yaml", "PAYNOTIFY", Env({}));
  ReadLearningSettings(longer);
  EXPECT_EQ(FinishError(longer), "");
}

TEST(LearningSettings, RetentionPacingIsValidated) {
  auto reader = config::Reader::FromString(
      "database:\n  dbname: learning\nretention:\n  batch-size: 200000\n  idle-interval: 10ms\n", "learning.yaml",
      "PAYNOTIFY", Env({}));
  ReadLearningSettings(reader);
  const std::string error = FinishError(reader);
  EXPECT_THAT(error, HasSubstr("retention.batch-size"));
  EXPECT_THAT(error, HasSubstr("retention.idle-interval: must be at least 1s"));
}

TEST(LearningSettings, UnknownRetentionKeyGetsAHint) {
  auto reader = config::Reader::FromString("database:\n  dbname: learning\nretention:\n  batch-sise: 10\n",
                                           "learning.yaml", "PAYNOTIFY", Env({}));
  ReadLearningSettings(reader);
  EXPECT_THAT(FinishError(reader), HasSubstr("did you mean 'retention.batch-size'"));
}

TEST(LearningSettings, ShippedConfigIsClassicWithTheDefaultDeliveryLimit) {
  config::Reader reader(std::string(PAYNOTIFY_SOURCE_DIR) + "/config/learning-service.yaml", "PAYNOTIFY", Env({}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.topology.queue_type, "classic");  // one node stays the default
  EXPECT_EQ(s.topology.delivery_limit, consumer::kDefaultDeliveryLimit);
}

TEST(LearningSettings, DeliveryLimitIsReadForQuorumQueues) {
  auto reader = config::Reader::FromString(
      "database:\n  dbname: learning\nconsumer:\n  queue-type: quorum\n  delivery-limit: 5\n", "learning.yaml",
      "PAYNOTIFY", Env({}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.topology.delivery_limit, 5);
  EXPECT_EQ(s.topology.Queues().front().delivery_limit, 5);
}

TEST(LearningSettings, DeliveryLimitFromTheEnvironment) {
  auto reader = config::Reader::FromString("database:\n  dbname: learning\n", "learning.yaml", "PAYNOTIFY",
                                           Env({{"PAYNOTIFY_CONSUMER_DELIVERY_LIMIT", "9"},
                                                {"PAYNOTIFY_CONSUMER_QUEUE_TYPE", "quorum"}}));
  const LearningSettings s = ReadLearningSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(s.topology.delivery_limit, 9);
  EXPECT_EQ(s.topology.queue_type, "quorum");
}

TEST(LearningSettings, DeliveryLimitBelowOneIsAnErrorWithTheLine) {
  auto reader = config::Reader::FromString("consumer:\n  queue-type: quorum\n  delivery-limit: 0\n", "learning.yaml",
                                           "PAYNOTIFY", Env({}));
  ReadLearningSettings(reader);
  const std::string error = FinishError(reader);
  EXPECT_THAT(error, HasSubstr("learning.yaml:3"));
  EXPECT_THAT(error, HasSubstr("consumer.delivery-limit"));
}

}  // namespace
}  // namespace paynotify::learning

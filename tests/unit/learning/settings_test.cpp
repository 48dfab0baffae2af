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

// The shared retention.* pacing keys and the retention period's floor.
#include <gtest/gtest.h>

#include "common/config/reader.hpp"
#include "common/retention/retention_settings.hpp"

namespace paynotify::retention {
namespace {

using namespace std::chrono_literals;

config::Reader Yaml(const std::string& text) {
  return config::Reader::FromString(text, "test.yaml", "PAYNOTIFY", [](const std::string&) { return std::nullopt; });
}

std::vector<std::string> Errors(config::Reader& r) {
  std::vector<std::string> out;
  try {
    r.Finish();
  } catch (const config::ConfigErrors& e) {
    for (const auto& error : e.errors()) out.push_back(error.ToString());
  }
  return out;
}

TEST(RetentionSettings, DefaultsWithoutKeys) {
  config::Reader r = Yaml("{}\n");
  RetentionSettings s;
  ReadRetentionPacing(r, s);
  EXPECT_EQ(s.batch_size, 5000u);
  EXPECT_EQ(s.batch_pause, 100ms);
  EXPECT_EQ(s.idle_interval, 60s);
  EXPECT_TRUE(Errors(r).empty());
}

TEST(RetentionSettings, PacingKeysAreRead) {
  config::Reader r = Yaml("retention:\n  batch-size: 2000\n  batch-pause: 1s\n  idle-interval: 5m\n");
  RetentionSettings s;
  ReadRetentionPacing(r, s);
  EXPECT_EQ(s.batch_size, 2000u);
  EXPECT_EQ(s.batch_pause, 1s);
  EXPECT_EQ(s.idle_interval, 5min);
  EXPECT_TRUE(Errors(r).empty());
}

TEST(RetentionSettings, PacingOutOfRangeIsAnError) {
  config::Reader r = Yaml("retention:\n  batch-size: 0\n  idle-interval: 100ms\n");
  RetentionSettings s;
  ReadRetentionPacing(r, s);
  const auto errors = Errors(r);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("retention.batch-size"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("retention.idle-interval: must be at least 1s"), std::string::npos) << errors[1];
}

TEST(RetentionSettings, IdleShorterThanThePauseIsAnError) {
  config::Reader r = Yaml("retention:\n  batch-pause: 2m\n  idle-interval: 1m\n");
  RetentionSettings s;
  ReadRetentionPacing(r, s);
  const auto errors = Errors(r);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("must not be shorter than retention.batch-pause"), std::string::npos) << errors[0];
}

TEST(RetentionSettings, PeriodBelowTheFloorNamesTheKeyTheFloorAndWhy) {
  config::Reader r = Yaml("x:\n  keep: 30m\n");
  EXPECT_EQ(ReadRetentionPeriod(r, "x.keep", 14 * 24h, 1h, "the reason"), 30min);
  const auto errors = Errors(r);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "test.yaml:2:9: x.keep: must be at least 1h (got 30m): the reason");
}

TEST(RetentionSettings, PeriodAboveAHundredYearsIsAnErrorNotAnEndlessBackOff) {
  config::Reader r = Yaml("x:\n  keep: 36501d\n");
  ReadRetentionPeriod(r, "x.keep", 14 * 24h, 1h, "");
  const auto errors = Errors(r);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "test.yaml:2:9: x.keep: must be at most 36500d (got 36501d)");
  config::Reader ok = Yaml("x:\n  keep: 36500d\n");
  EXPECT_EQ(ReadRetentionPeriod(ok, "x.keep", 1h, 1h, ""), kMaxRetentionPeriod);
  EXPECT_TRUE(Errors(ok).empty());
}

TEST(RetentionSettings, PeriodInDaysAndDefault) {
  config::Reader r = Yaml("x:\n  keep: 14d\n");
  EXPECT_EQ(ReadRetentionPeriod(r, "x.keep", 1h, 1h, ""), 14 * 24h);
  EXPECT_EQ(ReadRetentionPeriod(r, "x.absent", 30 * 24h, 1h, ""), 30 * 24h);
  EXPECT_TRUE(Errors(r).empty());
}

TEST(RetentionSettings, FormatDurationPicksTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(14 * 24h), "14d");
  EXPECT_EQ(FormatDuration(36h), "36h");
  EXPECT_EQ(FormatDuration(90min), "90m");
  EXPECT_EQ(FormatDuration(45s), "45s");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatDuration(0ms), "0ms");
}

}  // namespace
}  // namespace paynotify::retention

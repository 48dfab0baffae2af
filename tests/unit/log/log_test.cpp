#include "common/log/log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <vector>

namespace paynotify::log {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { Init(LogSettings{}); }
};

TEST_F(LogTest, TextLineNamesLevelAndSubsystem) {
  Init({.level = "info", .json = false});
  testing::internal::CaptureStderr();
  Get("relay")->info("publish nacked outbox_id={}; will retry in {}s", 42, 2);
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z info +relay: "
                                "publish nacked outbox_id=42; will retry in 2s\n"));
}

TEST_F(LogTest, LevelFromSettingsFiltersAndAppliesToExistingLoggers) {
  auto logger = Get("filter");
  Init({.level = "warn", .json = false});
  testing::internal::CaptureStderr();
  logger->info("hidden");
  logger->warn("shown");
  Get("filter-new")->debug("hidden too");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, Not(HasSubstr("hidden")));
  EXPECT_THAT(out, HasSubstr("shown"));
}

TEST_F(LogTest, JsonLinesAreEscaped) {
  Init({.level = "debug", .json = true});
  testing::internal::CaptureStderr();
  Get("intake")->debug("bad body \"x\"\\ line1\nline2\t\x01");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, MatchesRegex(R"(\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z",)"
                                R"("level":"debug","logger":"intake",)"
                                R"("msg":"bad body \\"x\\"\\\\\\\\ line1\\\\nline2\\\\t\\\\x01"\})"
                                "\n"));
}

// A value from a request or a message must never start a line of its own (log injection).
TEST_F(LogTest, TextLinesEscapeControlCharactersAndBadBytes) {
  Init({.level = "info", .json = false});
  testing::internal::CaptureStderr();
  Get("intake")->warn("rejected sign_type={}", "RSA2\n2026-01-01T00:00:00.000Z info     intake: forged\xFF");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, HasSubstr("rejected sign_type=RSA2\\n2026-01-01T00:00:00.000Z info     intake: forged\\xFF\n"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST_F(LogTest, OneMessageIsBoundedInBothFormats) {
  for (const bool json : {false, true}) {
    Init({.level = "info", .json = json});
    testing::internal::CaptureStderr();
    Get("consumer")->warn("body={}", std::string(1 << 20, 'x'));
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_LT(out.size(), 9000u) << "json=" << json;
    EXPECT_THAT(out, HasSubstr("bytes)")) << "json=" << json;
  }
}

TEST_F(LogTest, SameSubsystemGivesTheSameLogger) {
  EXPECT_EQ(Get("amqp").get(), Get("amqp").get());
  EXPECT_NE(Get("amqp").get(), Get("pg").get());
  EXPECT_EQ(Get("amqp")->name(), "amqp");
}

TEST_F(LogTest, UnknownLevelThrows) {
  EXPECT_THROW(Init({.level = "loud", .json = false}), std::invalid_argument);
}

TEST_F(LogTest, ConcurrentLoggingKeepsLinesWhole) {
  Init({.level = "info", .json = true});
  testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i) Get("worker" + std::to_string(t))->info("n={}", i);
    });
  }
  for (auto& th : threads) th.join();
  const std::string out = testing::internal::GetCapturedStderr();
  size_t lines = 0;
  size_t start = 0;
  while (start < out.size()) {
    const size_t end = out.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_THAT(out.substr(start, end - start), MatchesRegex(R"(\{"ts":.*"msg":"n=[0-9]+"\})"));
    ++lines;
    start = end + 1;
  }
  EXPECT_EQ(lines, 200u);
}

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\re\tf\b\f\x1f"), "a\\\"b\\\\c\\nd\\re\\tf\\b\\f\\u001f");
  EXPECT_EQ(JsonEscape("plain ünïcode"), "plain ünïcode");
}

}  // namespace
}  // namespace paynotify::log

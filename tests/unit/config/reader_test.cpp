#include "common/config/reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace paynotify::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using EnvMap = std::map<std::string, std::string>;

Reader::EnvLookup FakeEnv(EnvMap values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    if (auto it = values.find(name); it != values.end()) return it->second;
    return std::nullopt;
  };
}

Reader Yaml(std::string_view text, EnvMap env = {}) {
  return Reader::FromString(text, "test.yaml", "PAYNOTIFY", FakeEnv(std::move(env)));
}

// The list of error lines Finish() throws, or empty if it does not throw.
std::vector<std::string> FinishErrors(Reader& reader) {
  try {
    reader.Finish();
  } catch (const ConfigErrors& e) {
    std::vector<std::string> lines;
    for (const auto& error : e.errors()) lines.push_back(error.ToString());
    return lines;
  }
  return {};
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "paynotify-config-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    const auto file = path_ / name;
    std::ofstream(file) << content;
    return file.string();
  }
  std::filesystem::path path() const { return path_; }

 private:
  std::filesystem::path path_;
};

constexpr std::string_view kValid = R"(rabbitmq:
  host: broker.local
  port: 5673
  virtual-host: /orders
  addresses: [a:5672, b:5672]
  listener:
    prefetch: 20
    retry:
      initial-interval: 500ms
      multiplier: 1.5
      enabled: yes
http:
  port: 8080
log:
  level: debug
)";

TEST(ReaderTest, ReadsEveryTypeFromTheFile) {
  Reader r = Yaml(kValid);
  EXPECT_EQ(r.String("rabbitmq.host", "localhost"), "broker.local");
  EXPECT_EQ(r.Int("rabbitmq.port", 5672, 1, 65535), 5673);
  EXPECT_EQ(r.String("rabbitmq.virtual-host", "/"), "/orders");
  EXPECT_THAT(r.StringList("rabbitmq.addresses", {}), ElementsAre("a:5672", "b:5672"));
  EXPECT_EQ(r.Int("rabbitmq.listener.prefetch", 10, 1, 65535), 20);
  EXPECT_EQ(r.Duration("rabbitmq.listener.retry.initial-interval", milliseconds{1000}),
            milliseconds{500});
  EXPECT_DOUBLE_EQ(r.Double("rabbitmq.listener.retry.multiplier", 2.0, 1.0, 10.0), 1.5);
  EXPECT_TRUE(r.Bool("rabbitmq.listener.retry.enabled", false));
  EXPECT_EQ(r.Int("http.port", 0, 0, 65535), 8080);
  EXPECT_EQ(r.OneOf("log.level", "info", {"debug", "info", "warn"}), "debug");
  EXPECT_NO_THROW(r.Finish());
}

TEST(ReaderTest, AbsentKeysAndNullsGiveTheFallback) {
  Reader r = Yaml("rabbitmq:\n  host:\n  port: ~\n");
  EXPECT_EQ(r.String("rabbitmq.host", "localhost"), "localhost");
  EXPECT_EQ(r.Int("rabbitmq.port", 5672, 1, 65535), 5672);
  EXPECT_EQ(r.Duration("rabbitmq.connect-timeout", milliseconds{5000}), milliseconds{5000});
  EXPECT_THAT(r.StringList("rabbitmq.addresses", {"x"}), ElementsAre("x"));
  EXPECT_FALSE(r.Has("rabbitmq.host"));
  EXPECT_NO_THROW(r.Finish());
}

TEST(ReaderTest, DurationFormats) {
  Reader r = Yaml("a: 250ms\nb: 2s\nc: 1m\nd: 1.5s\ne: 750\nf: 1h\ng: 0\n");
  EXPECT_EQ(r.Duration("a", {}), milliseconds{250});
  EXPECT_EQ(r.Duration("b", {}), milliseconds{2000});
  EXPECT_EQ(r.Duration("c", {}), milliseconds{60000});
  EXPECT_EQ(r.Duration("d", {}), milliseconds{1500});
  EXPECT_EQ(r.Duration("e", {}), milliseconds{750});
  EXPECT_EQ(r.Duration("f", {}), milliseconds{3'600'000});
  EXPECT_EQ(r.Duration("g", milliseconds{9}), milliseconds{0});
  EXPECT_NO_THROW(r.Finish());
}

// Retention periods are days long (consumer.dedup-retention: 14d); "d" is 24 hours.
TEST(ReaderTest, DurationInDays) {
  Reader r = Yaml("a: 14d\nb: 0.5d\nc: 1D\n");
  EXPECT_EQ(r.Duration("a", {}), std::chrono::hours{14 * 24});
  EXPECT_EQ(r.Duration("b", {}), std::chrono::hours{12});
  EXPECT_EQ(r.Duration("c", milliseconds{7}), milliseconds{7});  // units are lower case, as for h/m/s
  EXPECT_EQ(FinishErrors(r).size(), 1u);
}

TEST(ReaderTest, BadDurationIsAnErrorWithPosition) {
  Reader r = Yaml("a: 2 seconds\nb: -5\nc: 1.5\n");
  EXPECT_EQ(r.Duration("a", milliseconds{7}), milliseconds{7});
  r.Duration("b", {});
  r.Duration("c", {});
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:1:4: a: expected a duration such as 250ms, 2s, 1.5s, 1m or an "
                          "integer number of milliseconds, got '2 seconds'",
                          "test.yaml:2:4: b: expected a duration such as 250ms, 2s, 1.5s, 1m or an "
                          "integer number of milliseconds, got '-5'",
                          "test.yaml:3:4: c: expected a duration such as 250ms, 2s, 1.5s, 1m or an "
                          "integer number of milliseconds, got '1.5'"));
}

TEST(ReaderTest, UnknownKeyGetsNearestKeyHint) {
  Reader r = Yaml("rabbitmq:\n  host: h\n  prot: 5672\n");
  r.String("rabbitmq.host", "");
  r.Int("rabbitmq.port", 5672, 1, 65535);
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:3:3: rabbitmq.prot: unknown key; did you mean 'rabbitmq.port'?"));
}

TEST(ReaderTest, UnknownSectionIsReportedOnceWithHint) {
  Reader r = Yaml("rabbitmqq:\n  host: h\n  port: 1\nhttp:\n  port: 1\n");
  r.String("rabbitmq.host", "");
  r.Int("http.port", 0);
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:1:1: rabbitmqq: unknown key; did you mean 'rabbitmq'?"));
}

TEST(ReaderTest, UnknownKeyHintFindsTheSameNameUnderAnotherParentOrAPrefix) {
  Reader r = Yaml("rabbitmq:\n  prefetch: 5\n  user: u\n  zzzzzz: 1\n");
  r.Int("rabbitmq.listener.prefetch", 10);
  r.String("rabbitmq.username", "guest");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:2:3: rabbitmq.prefetch: unknown key; did you mean "
                          "'rabbitmq.listener.prefetch'?",
                          "test.yaml:3:3: rabbitmq.user: unknown key; did you mean 'rabbitmq.username'?",
                          "test.yaml:4:3: rabbitmq.zzzzzz: unknown key"));
}

TEST(ReaderTest, WrongTypeAndOutOfRange) {
  Reader r = Yaml("rabbitmq:\n  port: abc\n  heartbeat: 700000\nratio: x\nflag: maybe\nname: [1, 2]\n");
  EXPECT_EQ(r.Int("rabbitmq.port", 5672, 1, 65535), 5672);
  EXPECT_EQ(r.Int("rabbitmq.heartbeat", 30, 0, 3600), 30);
  EXPECT_DOUBLE_EQ(r.Double("ratio", 0.5, 0.0, 1.0), 0.5);
  EXPECT_TRUE(r.Bool("flag", true));
  EXPECT_EQ(r.String("name", "n"), "n");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:2:9: rabbitmq.port: expected an integer between 1 and 65535, "
                          "got 'abc'",
                          "test.yaml:3:14: rabbitmq.heartbeat: expected an integer between 0 and "
                          "3600, got '700000'",
                          "test.yaml:4:8: ratio: expected a number between 0 and 1, got 'x'",
                          "test.yaml:5:7: flag: expected true or false, got 'maybe'",
                          "test.yaml:6:7: name: expected a string, got a list"));
}

TEST(ReaderTest, OpenEndedIntegerRangesAreWorded) {
  Reader r = Yaml("a: x\nb: x\nc: x\n");
  r.Int("a", 0);
  r.Int("b", 0, 1);
  r.Int("c", 0, std::numeric_limits<int64_t>::min(), 9);
  EXPECT_THAT(FinishErrors(r), ElementsAre("test.yaml:1:4: a: expected an integer, got 'x'",
                                           "test.yaml:2:4: b: expected an integer >= 1, got 'x'",
                                           "test.yaml:3:4: c: expected an integer <= 9, got 'x'"));
}

TEST(ReaderTest, OneOfListsAllowedValuesAndSuggests) {
  Reader r = Yaml("queue-type: quorom\n");
  EXPECT_EQ(r.OneOf("queue-type", "classic", {"classic", "quorum"}), "classic");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:1:13: queue-type: expected one of 'classic', 'quorum', got "
                          "'quorom'; did you mean 'quorum'?"));
}

TEST(ReaderTest, ScalarWhereAMapIsExpected) {
  Reader r = Yaml("rabbitmq: localhost\n");
  r.String("rabbitmq.host", "");
  r.Int("rabbitmq.port", 1);
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:1:11: rabbitmq: expected a map of settings, got 'localhost'"));
}

TEST(ReaderTest, AllErrorsAreCollectedAtOnceAndWhatListsThemOnePerLine) {
  Reader r = Yaml("rabbitmq:\n  port: 0\n  hots: x\nhttp:\n  port: nope\nlog:\n  level: loud\n");
  r.Int("rabbitmq.port", 5672, 1, 65535);
  r.String("rabbitmq.host", "localhost");
  r.Int("http.port", 8080, 0, 65535);
  r.OneOf("log.level", "info", {"debug", "info"});
  try {
    r.Finish();
    FAIL() << "Finish() did not throw";
  } catch (const ConfigErrors& e) {
    ASSERT_EQ(e.errors().size(), 4u);
    EXPECT_STREQ(e.what(),
                 "test.yaml:2:9: rabbitmq.port: expected an integer between 1 and 65535, got '0'\n"
                 "test.yaml:5:9: http.port: expected an integer between 0 and 65535, got 'nope'\n"
                 "test.yaml:7:10: log.level: expected one of 'debug', 'info', got 'loud'\n"
                 "test.yaml:3:3: rabbitmq.hots: unknown key; did you mean 'rabbitmq.host'?");
    EXPECT_EQ(e.errors()[0].line, 2);
    EXPECT_EQ(e.errors()[0].column, 9);
    EXPECT_EQ(e.errors()[0].key_path, "rabbitmq.port");
    EXPECT_EQ(e.errors()[0].file, "test.yaml");
  }
}

TEST(ReaderTest, MissingFileIsAClearError) {
  Reader r("/nonexistent/paynotify/order-service.yaml", "PAYNOTIFY", FakeEnv({}));
  EXPECT_EQ(r.String("rabbitmq.host", "localhost"), "localhost");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("/nonexistent/paynotify/order-service.yaml: cannot read config file: "
                          "No such file or directory"));
}

TEST(ReaderTest, YamlSyntaxErrorNamesTheLine) {
  TempDir dir;
  const std::string path = dir.Write("bad.yaml", "rabbitmq:\n  host: a\n  port: [1, 2\nhttp: {}\n");
  Reader r(path, "PAYNOTIFY", FakeEnv({}));
  const auto errors = FinishErrors(r);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], path + ":4:5: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(r.Errors()[0].line, 4);
}

TEST(ReaderTest, TopLevelMustBeAMap) {
  Reader r = Yaml("- a\n- b\n");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:1:1: expected a map of settings at the top level, got a list"));
}

TEST(ReaderTest, DuplicateKeyIsAnError) {
  Reader r = Yaml("a: 1\na: 2\n");
  EXPECT_EQ(r.Int("a", 0), 1);
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:2:1: a: duplicate key; only the first value is used"));
}

TEST(ReaderTest, EnvironmentOverrideWinsOverTheFile) {
  Reader r = Yaml("rabbitmq:\n  host: from-file\n  virtual-host: /file\n",
                  {{"PAYNOTIFY_RABBITMQ_HOST", "from-env"},
                   {"PAYNOTIFY_RABBITMQ_VIRTUAL_HOST", "/env"},
                   {"PAYNOTIFY_RABBITMQ_PORT", "5700"},
                   {"PAYNOTIFY_RABBITMQ_ADDRESSES", "a:1, b:2"},
                   {"PAYNOTIFY_UNRELATED", "ignored"}});
  EXPECT_EQ(r.String("rabbitmq.host", ""), "from-env");
  EXPECT_EQ(r.String("rabbitmq.virtual-host", ""), "/env");
  EXPECT_EQ(r.Int("rabbitmq.port", 5672, 1, 65535), 5700);
  EXPECT_THAT(r.StringList("rabbitmq.addresses", {}), ElementsAre("a:1", "b:2"));
  EXPECT_TRUE(r.Has("rabbitmq.port"));
  EXPECT_NO_THROW(r.Finish());
}

TEST(ReaderTest, BadEnvironmentValueSaysWhereItCameFrom) {
  Reader r = Yaml("rabbitmq:\n  port: 5672\n", {{"PAYNOTIFY_RABBITMQ_PORT", "abc"}});
  EXPECT_EQ(r.Int("rabbitmq.port", 1, 1, 65535), 1);
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml: rabbitmq.port: expected an integer between 1 and 65535, got "
                          "'abc' (from environment PAYNOTIFY_RABBITMQ_PORT)"));
}

TEST(ReaderTest, RealEnvironmentIsUsedByDefault) {
  ASSERT_EQ(setenv("PNTEST_SOME_KEY", "from-process-env", 1), 0);
  Reader r = Reader::FromString("some:\n  key: file\n", "t.yaml", "PNTEST");
  EXPECT_EQ(r.String("some.key", ""), "from-process-env");
  unsetenv("PNTEST_SOME_KEY");
  Reader no_prefix = Reader::FromString("some:\n  key: file\n", "t.yaml", "");
  EXPECT_EQ(no_prefix.String("some.key", ""), "file");
}

TEST(ReaderTest, SecretFromValueEnvOrFile) {
  TempDir dir;
  const std::string secret_file = dir.Write("pw", "  s3cret-from-file\n");
  {
    Reader r = Yaml("rabbitmq:\n  password: inline\n");
    EXPECT_EQ(r.Secret("rabbitmq.password"), "inline");
    EXPECT_NO_THROW(r.Finish());
  }
  {
    Reader r = Yaml("rabbitmq:\n  password: inline\n", {{"PAYNOTIFY_RABBITMQ_PASSWORD", "env"}});
    EXPECT_EQ(r.Secret("rabbitmq.password"), "env");
    EXPECT_NO_THROW(r.Finish());
  }
  {
    Reader r = Yaml("rabbitmq:\n  password-file: " + secret_file + "\n");
    EXPECT_EQ(r.Secret("rabbitmq.password"), "s3cret-from-file");
    EXPECT_NO_THROW(r.Finish());
  }
  {
    Reader r = Yaml("{}\n", {{"PAYNOTIFY_RABBITMQ_PASSWORD_FILE", secret_file}});
    EXPECT_EQ(r.Secret("rabbitmq.password"), "s3cret-from-file");
    EXPECT_NO_THROW(r.Finish());
  }
}

TEST(ReaderTest, SecretErrors) {
  TempDir dir;
  const std::string missing = (dir.path() / "nope").string();
  Reader r = Yaml("a:\n  password-file: " + missing + "\nb:\n  password: x\n  password-file: " +
                  missing + "\n");
  EXPECT_EQ(r.Secret("a.password"), "");
  EXPECT_EQ(r.Secret("b.password"), "");
  EXPECT_EQ(r.Secret("c.password"), "");
  EXPECT_EQ(r.Secret("d.password", "guest"), "guest");
  EXPECT_THAT(
      FinishErrors(r),
      ElementsAre("test.yaml:2:18: a.password-file: cannot read secret file '" + missing +
                      "': No such file or directory",
                  "test.yaml:4:13: b.password: set either b.password or b.password-file, not both",
                  "test.yaml: c.password: missing secret; set c.password or c.password-file in "
                  "the file, or the environment variable PAYNOTIFY_C_PASSWORD"));
}

// Issue 10: bytes read because a config names a file are bounded, so a path to /dev/zero, a
// pipe or a log file by mistake ends in exit 2 with the error listed, not in the OOM killer.
TEST(ReaderTest, SecretFileOverTheLimitIsAnError) {
  TempDir dir;
  const std::string at_limit = dir.Write("at-limit", std::string(kMaxSecretFileBytes, 'a'));
  const std::string over = dir.Write("over", std::string(kMaxSecretFileBytes + 1, 'a'));
  Reader r = Yaml("a:\n  password-file: " + at_limit + "\nb:\n  password-file: " + over +
                  "\nc:\n  password-file: /dev/zero\n");
  EXPECT_EQ(r.Secret("a.password").size(), kMaxSecretFileBytes);  // at the limit: read whole
  EXPECT_EQ(r.Secret("b.password"), "");
  EXPECT_EQ(r.Secret("c.password"), "");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:4:18: b.password-file: secret file '" + over +
                              "' is larger than 65536 bytes",
                          "test.yaml:6:18: c.password-file: secret file '/dev/zero' is larger "
                          "than 65536 bytes"));
}

TEST(ReaderTest, ConfigFileOverTheLimitIsAnError) {
  TempDir dir;
  // A valid YAML document just over the limit: a comment line made long.
  const std::string big = dir.Write("big.yaml", "log:\n  level: info\n#" +
                                                    std::string(kMaxConfigFileBytes, 'x') + "\n");
  for (const std::string& path : {big, std::string("/dev/zero")}) {
    Reader r(path, "PAYNOTIFY", FakeEnv({}));
    EXPECT_EQ(r.String("log.level", "warn"), "warn");
    EXPECT_THAT(FinishErrors(r),
                ElementsAre(path + ": config file is larger than 1048576 bytes; is it the right "
                                   "file?"));
  }
}

TEST(ReaderTest, RedactedHidesSecretsAndNotesSources) {
  Reader r = Yaml("rabbitmq:\n  host: h\n  password: hunter2\nauth:\n  api-token: t0k3n\n",
                  {{"PAYNOTIFY_RABBITMQ_PORT", "5700"}});
  r.String("rabbitmq.host", "");
  r.Int("rabbitmq.port", 5672);
  r.Secret("rabbitmq.password");
  r.String("auth.api-token", "");
  r.Duration("rabbitmq.connect-timeout", milliseconds{5000});
  const std::string text = r.Redacted();
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
  EXPECT_THAT(text, Not(HasSubstr("t0k3n")));
  EXPECT_EQ(text,
            "auth.api-token: ***\n"
            "rabbitmq.connect-timeout: 5000ms (default)\n"
            "rabbitmq.host: h\n"
            "rabbitmq.password: ***\n"
            "rabbitmq.password-file: \"\" (default)\n"
            "rabbitmq.port: 5700 (env PAYNOTIFY_RABBITMQ_PORT)\n");
}

TEST(ReaderTest, KeyReadTwiceWithDifferentTypesIsFine) {
  Reader r = Yaml("timeout: 1500\n");
  EXPECT_EQ(r.String("timeout", ""), "1500");
  EXPECT_EQ(r.Int("timeout", 0), 1500);
  EXPECT_EQ(r.Duration("timeout", {}), milliseconds{1500});
  EXPECT_NO_THROW(r.Finish());
}

TEST(ReaderTest, RepeatedReadOfABadValueReportsItOnce) {
  Reader r = Yaml("port: x\n");
  r.Int("port", 1, 1, 10);
  r.Int("port", 1, 1, 10);
  EXPECT_EQ(FinishErrors(r).size(), 1u);
}

TEST(ReaderTest, ListErrorsNameTheElement) {
  Reader r = Yaml("addresses:\n  - a\n  - {host: b}\nother: {x: 1}\n");
  EXPECT_THAT(r.StringList("addresses", {"d"}), ElementsAre("d"));
  r.StringList("other", {});
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:3:5: addresses[1]: expected a string, got a map",
                          "test.yaml:4:8: other: expected a list of strings, got a map"));
}

TEST(ReaderTest, CommaSeparatedStringIsAList) {
  Reader r = Yaml("addresses: 'a:5672, b:5673'\n");
  EXPECT_THAT(r.StringList("addresses", {}), ElementsAre("a:5672", "b:5673"));
}

TEST(ReaderTest, HasDoesNotMarkKeysRead) {
  Reader r = Yaml("queues:\n  q1: {ttl: 1}\n  q2: {ttl: 2}\n");
  EXPECT_TRUE(r.Has("queues.q1.ttl"));
  EXPECT_FALSE(r.Has("queues.q3.ttl"));
  EXPECT_EQ(FinishErrors(r).size(), 1u);  // "queues" was never read
}

TEST(ReaderTest, AddErrorCarriesTheKeyPosition) {
  Reader r = Yaml("retry:\n  initial: 5s\n  max: 1s\n");
  r.Duration("retry.initial", {});
  r.Duration("retry.max", {});
  r.AddError("retry.max", "must not be below retry.initial");
  EXPECT_THAT(FinishErrors(r),
              ElementsAre("test.yaml:3:8: retry.max: must not be below retry.initial"));
}

TEST(ReaderTest, ReadsARealFileWithPositions) {
  TempDir dir;
  const std::string path = dir.Write("svc.yaml", "# comment\nhttp:\n  port: 80800\n");
  Reader r(path, "PAYNOTIFY", FakeEnv({}));
  r.Int("http.port", 0, 0, 65535);
  EXPECT_THAT(FinishErrors(r),
              ElementsAre(path + ":3:9: http.port: expected an integer between 0 and 65535, got "
                                 "'80800'"));
}

}  // namespace
}  // namespace paynotify::config

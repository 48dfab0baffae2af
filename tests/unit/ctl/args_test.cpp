// The command line: global options anywhere, verb options, --help at every level, and every
// usage error the parser knows.
#include "paynotifyctl/cli/args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/ctl/test_commands.hpp"

namespace paynotify::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<Command> kCommands = testing::TestCommands();

ParsedLine Parse(std::vector<std::string> words) { return ParseCommandLine(words, kCommands, nullptr); }

// The UsageError's message, and the usage text the parser chose; fails the test if none.
std::pair<std::string, std::string> UsageErrorOf(std::vector<std::string> words) {
  std::string usage;
  try {
    ParseCommandLine(words, kCommands, &usage);
  } catch (const UsageError& e) {
    return {e.what(), usage};
  }
  ADD_FAILURE() << "no usage error";
  return {};
}

TEST(CtlArgs, DefaultsAreTheShippedConfigFilesAndText) {
  const ParsedLine line = Parse({"outbox", "status"});
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->verb, "status");
  EXPECT_EQ(line.global.orders_config, "config/order-service.yaml");
  EXPECT_EQ(line.global.learning_config, "config/learning-service.yaml");
  EXPECT_FALSE(line.global.json);
  EXPECT_FALSE(line.help);
}

TEST(CtlArgs, GlobalOptionsAnywhereAndTheLastOneWins) {
  const ParsedLine line = Parse({"--orders-config", "a.yaml", "outbox", "--json", "list", "--orders-config=b.yaml",
                                 "--learning-config", "l.yaml"});
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->verb, "list");
  EXPECT_EQ(line.global.orders_config, "b.yaml");
  EXPECT_EQ(line.global.learning_config, "l.yaml");
  EXPECT_TRUE(line.global.json);
}

TEST(CtlArgs, VerbOptionsWithSpaceOrEqualsAndPositionals) {
  ParsedLine line = Parse({"outbox", "list", "--limit", "7", "--parked"});
  EXPECT_TRUE(line.args.Has("--parked"));
  EXPECT_EQ(line.args.Int("--limit", 50, 1, 100), 7);
  line = Parse({"outbox", "list", "--limit=8"});
  EXPECT_EQ(line.args.Value("--limit"), "8");
  EXPECT_FALSE(line.args.Has("--parked"));
  EXPECT_EQ(line.args.Int("--missing", 50, 1, 100), 50);
  line = Parse({"outbox", "requeue", "3", "1", "--", "--json"});
  EXPECT_EQ(line.args.Positionals(), (std::vector<std::string>{"3", "1", "--json"}));
  EXPECT_FALSE(line.global.json) << "after --, --json is a word";
}

TEST(CtlArgs, AGroupThatIsOneCommandTakesOptionsDirectly) {
  const ParsedLine line = Parse({"trace", "--pay-no", "1000000000001", "--selection", "a", "--selection", "b"});
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->group, "trace");
  EXPECT_EQ(line.args.Value("--pay-no"), "1000000000001");
  EXPECT_EQ(line.args.Values("--selection"), (std::vector<std::string>{"a", "b"}));
}

TEST(CtlArgs, HelpAtEveryLevel) {
  ParsedLine line = Parse({"--help"});
  EXPECT_TRUE(line.help);
  EXPECT_EQ(line.command, nullptr);
  EXPECT_THAT(line.help_text, StartsWith("usage: paynotifyctl [--orders-config FILE]"));
  EXPECT_THAT(line.help_text, HasSubstr("outbox requeue (ID... | --all-parked)"));
  EXPECT_THAT(line.help_text, HasSubstr("exit status:"));

  line = Parse({"outbox", "-h"});
  EXPECT_TRUE(line.help);
  EXPECT_THAT(line.help_text, HasSubstr("outbox VERB"));
  EXPECT_THAT(line.help_text, HasSubstr("outbox list [--parked] [--limit N]"));
  EXPECT_THAT(line.help_text, ::testing::Not(HasSubstr("trace")));

  line = Parse({"outbox", "list", "--help"});
  EXPECT_THAT(line.help_text, HasSubstr("usage: paynotifyctl [GLOBAL OPTIONS] outbox list [--parked] [--limit N]"));
  EXPECT_THAT(line.help_text, HasSubstr("--limit N"));
  EXPECT_THAT(line.help_text, HasSubstr("at most N"));
  EXPECT_THAT(line.help_text, HasSubstr("2  bad usage"));

  line = Parse({"trace", "--help"});
  EXPECT_THAT(line.help_text, HasSubstr("trace (--pay-no N | --selection ID)"));
  EXPECT_THAT(line.help_text, HasSubstr("(repeatable)"));
}

TEST(CtlArgs, HelpWinsOverAnythingElseOnTheLine) {
  const ParsedLine line = Parse({"outbox", "list", "--bogus", "--limit", "--help"});
  EXPECT_TRUE(line.help);
  EXPECT_THAT(line.help_text, HasSubstr("outbox list"));
  EXPECT_TRUE(Parse({"nosuchgroup", "--help"}).help);
}

TEST(CtlArgs, UsageErrorsSayWhatIsWrongAndPickTheUsageOfTheLevelReached) {
  auto [message, usage] = UsageErrorOf({});
  EXPECT_EQ(message, "no command given");
  EXPECT_THAT(usage, HasSubstr("commands:"));

  std::tie(message, usage) = UsageErrorOf({"outbox"});
  EXPECT_EQ(message, "'outbox' needs a verb");
  EXPECT_THAT(usage, HasSubstr("verbs:"));

  std::tie(message, usage) = UsageErrorOf({"outbx", "status"});
  EXPECT_EQ(message, "unknown command 'outbx'");

  std::tie(message, usage) = UsageErrorOf({"outbox", "lst"});
  EXPECT_EQ(message, "unknown verb 'lst' for 'outbox'");

  std::tie(message, usage) = UsageErrorOf({"outbox", "list", "--limt", "5"});
  EXPECT_EQ(message, "unknown option '--limt'");
  EXPECT_THAT(usage, HasSubstr("outbox list [--parked]"));

  std::tie(message, usage) = UsageErrorOf({"outbox", "--parked", "list"});
  EXPECT_THAT(message, HasSubstr("a verb's options go after the verb"));

  EXPECT_EQ(UsageErrorOf({"outbox", "list", "--limit"}).first, "--limit needs a value (N)");
  EXPECT_EQ(UsageErrorOf({"outbox", "list", "--limit", "--parked"}).first,
            "--limit needs a value (N), not the option --parked; a value starting with -- is given as --limit=VALUE");
  EXPECT_EQ(UsageErrorOf({"outbox", "list", "--parked", "--parked"}).first, "--parked given twice");
  EXPECT_EQ(UsageErrorOf({"outbox", "list", "--parked=yes"}).first, "--parked takes no value");
  EXPECT_EQ(UsageErrorOf({"outbox", "status", "extra"}).first, "unexpected argument 'extra'");
  EXPECT_EQ(UsageErrorOf({"outbox", "status", "--orders-config"}).first, "--orders-config needs a value (FILE)");
  EXPECT_EQ(UsageErrorOf({"--orders-config=", "outbox", "status"}).first, "--orders-config needs a file name");
  EXPECT_EQ(UsageErrorOf({"--json=1", "outbox", "status"}).first, "--json takes no value");
}

TEST(CtlArgs, WordsInErrorsAreEscaped) {
  const auto [message, usage] = UsageErrorOf({"out\x1b[2Jbox\n"});
  EXPECT_EQ(message, "unknown command 'out\\x1B[2Jbox\\n'");
}

TEST(CtlArgs, IntegersAreCheckedAndNamed) {
  EXPECT_EQ(ParseInt("42", "ID", 1, 100), 42);
  for (const char* bad : {"", "0", "101", "4x", "-1", " 5", "99999999999999999999"}) {
    try {
      ParseInt(bad, "ID", 1, 100);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_THAT(e.what(), StartsWith("ID: expected an integer between 1 and 100, got '"));
    }
  }
}

}  // namespace
}  // namespace paynotify::ctl

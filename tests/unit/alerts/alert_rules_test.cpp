// deploy/prometheus/alerts.yml (issue 11 §3): valid for promtool, each alert unit-tested in
// alerts_test.yml (fires and does not fire), and each one labelled and annotated so that the
// person paged knows what it means and what to run. That the metrics the rules read really
// exist is checked against the daemons' live /metrics in tests/integration/health.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;
const fs::path kRoot = PAYNOTIFY_SOURCE_DIR;
const fs::path kRules = kRoot / "deploy/prometheus/alerts.yml";
const fs::path kRuleTests = kRoot / "deploy/prometheus/alerts_test.yml";

struct CommandRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandRun RunCommand(const std::string& command) {
  CommandRun run;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string Quote(const fs::path& path) { return "'" + path.string() + "'"; }

// promtool from $PROMTOOL, else from PATH; empty when there is none.
std::string Promtool() {
  if (const char* env = std::getenv("PROMTOOL"); env != nullptr && *env != '\0') return env;
  const CommandRun which = RunCommand("command -v promtool");
  if (which.exit_code != 0) return "";
  std::string path = which.output;
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  return path;
}

std::string RequirePromtool() {
  const std::string promtool = Promtool();
  if (promtool.empty()) {
    ADD_FAILURE() << "promtool not found: install Debian's `prometheus` package (it is in scripts/packages.txt; "
                     "scripts/test installs it) or point $PROMTOOL at one. The alert rules cannot be checked "
                     "without it.";
  }
  return promtool;
}

// Every rule of alerts.yml that is an alert, by name.
std::map<std::string, YAML::Node> Alerts() {
  std::map<std::string, YAML::Node> alerts;
  const YAML::Node root = YAML::LoadFile(kRules.string());
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["alert"]) alerts.emplace(rule["alert"].as<std::string>(), YAML::Node(rule));
    }
  }
  return alerts;
}

TEST(AlertRules, PromtoolIsInstalled) { EXPECT_FALSE(RequirePromtool().empty()); }

TEST(AlertRules, PassPromtoolCheckRules) {
  const std::string promtool = RequirePromtool();
  if (promtool.empty()) return;  // failed above, loudly
  const CommandRun run = RunCommand(Quote(promtool) + " check rules " + Quote(kRules));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("SUCCESS"), std::string::npos) << run.output;
}

TEST(AlertRules, PassTheirPromtoolUnitTests) {
  const std::string promtool = RequirePromtool();
  if (promtool.empty()) return;
  const CommandRun run = RunCommand(Quote(promtool) + " test rules " + Quote(kRuleTests));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("SUCCESS"), std::string::npos) << run.output;
}

// The file has what the issue asks for (a rename or a deletion shows here).
TEST(AlertRules, CoverEverySignalTheIssueNames) {
  const auto alerts = Alerts();
  for (const char* name : {"PaynotifyOutboxOldestRowTooOld", "PaynotifyOutboxRowsParked", "PaynotifyMessagesDeadLettered",
                           "PaynotifyConsumerStalled", "PaynotifyBrokerDown", "PaynotifyDatabaseDown",
                           "PaynotifyDaemonDown"}) {
    EXPECT_TRUE(alerts.count(name)) << name << " is missing from " << kRules;
  }
}

TEST(AlertRules, EachHasSeverityServiceSummaryAndADescriptionThatSaysWhatToRun) {
  const std::set<std::string> severities{"critical", "warning"};
  const std::set<std::string> services{"order-service", "learning-service", "paynotify"};
  const auto alerts = Alerts();
  ASSERT_GE(alerts.size(), 7u);
  for (const auto& [name, rule] : alerts) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(rule["labels"]) << "no labels";
    EXPECT_TRUE(severities.count(rule["labels"]["severity"].as<std::string>("")));
    EXPECT_TRUE(services.count(rule["labels"]["service"].as<std::string>("")));
    ASSERT_TRUE(rule["annotations"]) << "no annotations";
    EXPECT_FALSE(rule["annotations"]["summary"].as<std::string>("").empty());
    const std::string description = rule["annotations"]["description"].as<std::string>("");
    // A monitoring set-up alert points at prometheus.yml instead: nothing in paynotify to run.
    const std::string wanted = name == "PaynotifyDaemonNotScraped" ? "prometheus.yml" : "`./scripts/ctl ";
    EXPECT_NE(description.find(wanted), std::string::npos) << "names no " << wanted << ": " << description;
  }
}

// Each alert has a case in alerts_test.yml where it fires and one where it must not.
TEST(AlertRules, EachIsUnitTestedFiringAndNotFiring) {
  std::map<std::string, std::pair<int, int>> cases;  // alert -> (firing, silent)
  const YAML::Node root = YAML::LoadFile(kRuleTests.string());
  ASSERT_EQ(root["rule_files"][0].as<std::string>(), "alerts.yml");
  for (const auto& test : root["tests"]) {
    for (const auto& c : test["alert_rule_test"]) {
      auto& [firing, silent] = cases[c["alertname"].as<std::string>()];
      ++(c["exp_alerts"].size() > 0 ? firing : silent);
    }
  }
  for (const auto& [name, rule] : Alerts()) {
    EXPECT_GT(cases[name].first, 0) << name << " never fires in " << kRuleTests;
    EXPECT_GT(cases[name].second, 0) << name << " has no case where it stays silent in " << kRuleTests;
  }
}

}  // namespace

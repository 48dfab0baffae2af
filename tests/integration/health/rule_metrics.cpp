#include "tests/integration/health/rule_metrics.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <regex>
#include <sstream>

namespace paynotify::testing {

std::set<std::string> RuleMetricNames(const std::string& service) {
  std::set<std::string> names;
  const std::regex metric(R"(\bpaynotify_[a-zA-Z0-9_]+)");
  try {
    const YAML::Node root = YAML::LoadFile(std::string(PAYNOTIFY_SOURCE_DIR) + "/deploy/prometheus/alerts.yml");
    for (const auto& group : root["groups"]) {
      for (const auto& rule : group["rules"]) {
        const std::string owner = rule["labels"]["service"].as<std::string>("");
        if (owner != service && owner != "paynotify") continue;
        const std::string expr = rule["expr"].as<std::string>();
        for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) names.insert(it->str());
      }
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "reading deploy/prometheus/alerts.yml: " << e.what();
  }
  EXPECT_FALSE(names.empty()) << "no rule reads a paynotify_ metric for " << service;
  return names;
}

std::set<std::string> ExportedMetricNames(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hash, kind, name, type;
    if (!(words >> hash >> kind >> name >> type) || hash != "#" || kind != "TYPE") continue;
    names.insert(name);
    if (type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

}  // namespace paynotify::testing

// docker-compose.yml and the Dockerfiles, checked statically (issue 5 §3): the compose file
// parses and wires health checks and dependencies; every build context and Dockerfile
// exists (one Dockerfile, scripts/docker/Dockerfile, with the daemon as build argument);
// every PAYNOTIFY_* variable set for a daemon names a real config key, every secret
// a daemon needs is set, every ${VAR} the file reads is documented in README; the images
// install packages only from scripts/packages.txt, the scripts' own list; every image the
// file pulls has a test-fixture stand-in for scripts/compose-check, which runs it all for
// real (label deploy).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
const fs::path kRoot = PAYNOTIFY_SOURCE_DIR;
const std::string kDockerfile = "scripts/docker/Dockerfile";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every key path of a YAML mapping, e.g. "rabbitmq.listener.retry.max-attempts".
void CollectKeys(const YAML::Node& node, const std::string& prefix, std::set<std::string>& out) {
  if (!node.IsMap()) return;
  for (const auto& entry : node) {
    const std::string key = prefix.empty() ? entry.first.as<std::string>() : prefix + "." + entry.first.as<std::string>();
    out.insert(key);
    CollectKeys(entry.second, key, out);
  }
}

// The environment override name of a key path (common/config): PAYNOTIFY_ + upper, '.'/'-' -> '_'.
std::string EnvName(const std::string& key_path) {
  std::string name = "PAYNOTIFY_";
  for (char c : key_path) name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// Keys a daemon reads that the shipped YAML leaves out on purpose (secrets) or that only
// appear commented out.
const std::set<std::string> kUnlistedKeys = {"database.password", "rabbitmq.password", "order-api.token"};

std::set<std::string> ConfigEnvNames(const std::string& service) {
  std::set<std::string> keys;
  CollectKeys(YAML::LoadFile((kRoot / "config" / (service + ".yaml")).string()), "", keys);
  keys.insert(kUnlistedKeys.begin(), kUnlistedKeys.end());
  std::set<std::string> names;
  for (const auto& k : keys) names.insert(EnvName(k));
  return names;
}

// A service's environment map with YAML merge keys ("<<: *daemon-env") resolved, as
// docker compose does; yaml-cpp leaves them as a literal "<<" key.
std::map<std::string, std::string> Environment(const YAML::Node& node) {
  std::map<std::string, std::string> out;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (key == "<<") {
      for (const auto& [k, v] : Environment(entry.second)) out.emplace(k, v);  // explicit keys win
    } else {
      out[key] = entry.second.as<std::string>();
    }
  }
  return out;
}

class DeployFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kRoot / "docker-compose.yml"));
    compose_ = YAML::LoadFile((kRoot / "docker-compose.yml").string());
  }
  YAML::Node compose_;
};

TEST_F(DeployFiles, ComposeHasTheFourServicesWithHealthChecks) {
  const auto services = compose_["services"];
  ASSERT_TRUE(services.IsMap());
  for (const char* name : {"rabbitmq", "postgres", "order-service", "learning-service"}) {
    ASSERT_TRUE(services[name].IsMap()) << "service " << name << " missing";
    EXPECT_TRUE(services[name]["healthcheck"]["test"].IsSequence()) << name << " has no health check";
  }
  EXPECT_TRUE(compose_["volumes"]["rabbitmq-data"]) << "rabbitmq needs a named volume";
  EXPECT_TRUE(compose_["volumes"]["postgres-data"]) << "postgres needs a named volume";
  EXPECT_NE(services["rabbitmq"]["image"].as<std::string>().find("management"), std::string::npos);
}

TEST_F(DeployFiles, DaemonsStartAfterTheirDependenciesAreHealthy) {
  for (const char* daemon : {"order-service", "learning-service"}) {
    const auto depends = compose_["services"][daemon]["depends_on"];
    for (const char* dependency : {"postgres", "rabbitmq"}) {
      ASSERT_TRUE(depends[dependency].IsMap()) << daemon << " does not depend on " << dependency;
      EXPECT_EQ(depends[dependency]["condition"].as<std::string>(), "service_healthy") << daemon;
    }
  }
  ASSERT_TRUE(compose_["services"]["order-service"]["ports"].IsSequence()) << "the notification port must be published";
}

// The trust boundary (issue 10): the internet reaches the notification listener only.
TEST_F(DeployFiles, OnlyThePublicNotificationPortIsPublished) {
  const auto services = compose_["services"];
  const auto ports = services["order-service"]["ports"];
  ASSERT_TRUE(ports.IsSequence());
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].as<std::string>(), "8081:8081");
  EXPECT_FALSE(services["learning-service"]["ports"].IsDefined())
      << "learning-service's API and metrics must stay inside the compose network";
  const auto env = services["order-service"]["environment"];
  ASSERT_TRUE(env["PAYNOTIFY_ORDER_API_TOKEN"].IsDefined());
  EXPECT_NE(env["PAYNOTIFY_ORDER_API_TOKEN"].as<std::string>().find("${PAYNOTIFY_ORDER_API_TOKEN:?"),
            std::string::npos)
      << "the API token comes from the environment, never from the file";
}

// Both daemons are built from one Dockerfile; the build argument DAEMON names the daemon,
// which is also its CMake target, its build directory and its config file's name.
TEST_F(DeployFiles, EveryBuildContextAndDockerfileExists) {
  for (const std::string daemon : {"order-service", "learning-service"}) {
    const auto build = compose_["services"][daemon]["build"];
    ASSERT_TRUE(build.IsMap()) << daemon << " is not built from a Dockerfile";
    const fs::path context = kRoot / build["context"].as<std::string>();
    EXPECT_TRUE(fs::is_directory(context)) << context;
    EXPECT_EQ(build["dockerfile"].as<std::string>(), kDockerfile) << daemon;
    ASSERT_TRUE(build["args"]["DAEMON"].IsDefined()) << daemon << ": no build argument DAEMON";
    EXPECT_EQ(build["args"]["DAEMON"].as<std::string>(), daemon);
    EXPECT_TRUE(fs::is_directory(kRoot / daemon)) << daemon << ": DAEMON names no CMake target folder";
    EXPECT_TRUE(fs::is_regular_file(kRoot / "config" / (daemon + ".yaml"))) << daemon;
    const fs::path dockerfile = context / build["dockerfile"].as<std::string>();
    ASSERT_TRUE(fs::is_regular_file(dockerfile)) << dockerfile;
  }
  const std::string text = ReadFile(kRoot / kDockerfile);
  EXPECT_NE(text.find("AS runtime"), std::string::npos) << "needs a slim runtime stage";
  EXPECT_NE(text.find("\nUSER "), std::string::npos) << "must run as a non-root user";
  // The build stage builds both daemons without reading DAEMON, so the second image of a
  // compose build takes it from the layer cache; the runtime stage copies the one DAEMON names.
  EXPECT_NE(text.find("--target order-service learning-service"), std::string::npos) << "must build both daemons";
  EXPECT_NE(text.find("COPY --from=build /out/${DAEMON} /usr/local/bin/${DAEMON}"), std::string::npos)
      << "the runtime stage must ship the daemon DAEMON names";
  // PID 1 is the daemon itself (exec form, no shell in between): it gets SIGTERM and drains.
  EXPECT_NE(text.find("\nENTRYPOINT [\"/usr/local/bin/paynotify-daemon\"]"), std::string::npos)
      << "the entry point must be the daemon in exec form";
  // The daemon's default --config is config/<daemon>.yaml under the working directory.
  EXPECT_NE(text.find("WORKDIR /opt/paynotify\nCOPY config/${DAEMON}.yaml config/${DAEMON}.yaml"), std::string::npos);
  for (const char* old_file : {"order-service/Dockerfile", "learning-service/Dockerfile"}) {
    EXPECT_FALSE(fs::exists(kRoot / old_file)) << old_file << ": one Dockerfile for both daemons";
  }
}

TEST_F(DeployFiles, ConfigMountedReadOnlyAndEveryOverrideNamesARealKey) {
  for (const std::string daemon : {"order-service", "learning-service"}) {
    const auto service = compose_["services"][daemon];
    bool config_mounted = false;
    for (const auto& volume : service["volumes"]) {
      const std::string v = volume.as<std::string>();
      // Mounted over the image's copy, where the daemon looks by default.
      if (v == "./config/" + daemon + ".yaml:/opt/paynotify/config/" + daemon + ".yaml:ro") config_mounted = true;
    }
    EXPECT_TRUE(config_mounted) << daemon << ": config/" << daemon << ".yaml must be mounted read-only at /opt/paynotify/config/";
    const std::set<std::string> known = ConfigEnvNames(daemon);
    std::set<std::string> set_names;
    for (const auto& [name, value] : Environment(service["environment"])) {
      set_names.insert(name);
      if (name.rfind("PAYNOTIFY_", 0) == 0) {
        EXPECT_TRUE(known.count(name)) << daemon << ": " << name << " matches no key of config/" << daemon << ".yaml";
      }
    }
    // Secrets never live in the config files, so the container must get them from the environment.
    for (const char* secret : {"PAYNOTIFY_DATABASE_PASSWORD", "PAYNOTIFY_RABBITMQ_PASSWORD"}) {
      EXPECT_TRUE(set_names.count(secret)) << daemon << ": secret " << secret << " is not set";
    }
  }
}

TEST_F(DeployFiles, EveryVariableTheComposeFileReadsIsDocumentedInReadme) {
  const std::string compose_text = ReadFile(kRoot / "docker-compose.yml");
  const std::string readme = ReadFile(kRoot / "README.md");
  std::regex reference(R"(\$\{([A-Z0-9_]+))");
  int count = 0;
  for (auto it = std::sregex_iterator(compose_text.begin(), compose_text.end(), reference); it != std::sregex_iterator(); ++it) {
    ++count;
    const std::string name = (*it)[1];
    EXPECT_NE(readme.find(name), std::string::npos) << "${" << name << "} is read by docker-compose.yml but README.md does not document it";
  }
  EXPECT_GT(count, 0);
  EXPECT_NE(readme.find("docker compose up"), std::string::npos);
}

// scripts/compose-check runs the compose file offline: every image the file names instead of
// building it must have a stand-in there, and each stand-in must say it is a test fixture.
TEST_F(DeployFiles, EveryPulledImageHasATestFixtureStandIn) {
  const std::string check = ReadFile(kRoot / "scripts/compose-check");
  int pulled = 0;
  for (const auto& service : compose_["services"]) {
    if (!service.second["image"].IsDefined()) continue;
    ++pulled;
    const std::string image = service.second["image"].as<std::string>();
    const std::string fixture = "tests/deploy/fixtures/" + service.first.as<std::string>();
    EXPECT_NE(check.find("[docker.io/library/" + image + "]=" + fixture + "\n"), std::string::npos)
        << image << ": scripts/compose-check has no stand-in for it (expected " << fixture << ")";
    const std::string containerfile = ReadFile(kRoot / fixture / "Containerfile");
    EXPECT_EQ(containerfile.rfind("# TEST FIXTURE", 0), 0u) << fixture << " must say first that it is a test fixture";
    EXPECT_NE(containerfile.find("io.paynotify.test-fixture=\"true\""), std::string::npos) << fixture << ": label";
    EXPECT_NE(containerfile.find("stand-in for " + image), std::string::npos) << fixture << " must name what it stands in for";
  }
  EXPECT_EQ(pulled, 2);
}

TEST_F(DeployFiles, ImagesInstallOnlyFromTheScriptsPackageList) {
  {
    const std::string daemon = kDockerfile;
    const std::string text = ReadFile(kRoot / kDockerfile);
    EXPECT_NE(text.find("COPY scripts/packages.txt scripts/package-section"), std::string::npos) << daemon << ": must read scripts/packages.txt";
    // Every apt-get install takes its names from a file (xargs), never from a list of its own.
    std::istringstream lines(text);
    std::string line;
    int installs = 0;
    while (std::getline(lines, line)) {
      if (line.find("apt-get install") == std::string::npos) continue;
      ++installs;
      EXPECT_NE(line.find("xargs"), std::string::npos) << daemon << ": package names written into the Dockerfile: " << line;
      const auto tail = line.substr(line.find("apt-get install"));
      std::istringstream words(tail);
      std::string word;
      words >> word >> word;  // "apt-get" "install"
      while (words >> word) {
        if (word == "\\" || word == "&&") break;
        EXPECT_TRUE(word.rfind("-", 0) == 0) << daemon << ": literal package '" << word << "' in: " << line;
      }
    }
    EXPECT_EQ(installs, 2) << daemon << ": expected one install in the build stage and one in the runtime stage";
  }
}

}  // namespace

#include "tests/support/test_env.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

namespace paynotify::testing {

std::string RequireEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    throw MissingEnvironment("environment variable " + name +
                             " is not set: run tests through ./scripts/test (it evaluates "
                             "`scripts/infra env`), the real servers are required");
  }
  return value;
}

std::string PgConnString(const std::string& dbname) {
  return "host=" + RequireEnv("PGHOST") + " port=" + RequireEnv("PGPORT") +
         " user=" + RequireEnv("PGUSER") + " password=" + RequireEnv("PGPASSWORD") +
         " dbname=" + dbname + " connect_timeout=5";
}

std::string OrdersDb() { return RequireEnv("PAYNOTIFY_ORDERS_DB"); }
std::string LearningDb() { return RequireEnv("PAYNOTIFY_LEARNING_DB"); }

static std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

AmqpTestBroker Broker() {
  const std::string url = RequireEnv("PAYNOTIFY_AMQP_URL");
  const std::string scheme = "amqp://";
  if (url.rfind(scheme, 0) != 0) throw MissingEnvironment("PAYNOTIFY_AMQP_URL must start with amqp://");
  std::string rest = url.substr(scheme.size());
  AmqpTestBroker b;
  auto at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    b.user = PercentDecode(userinfo.substr(0, colon));
    if (colon != std::string::npos) b.password = PercentDecode(userinfo.substr(colon + 1));
  }
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos && slash + 1 < rest.size()) b.vhost = PercentDecode(rest.substr(slash + 1));
  auto colon = hostport.rfind(':');
  b.host = hostport.substr(0, colon);
  if (colon != std::string::npos) b.port = std::stoi(hostport.substr(colon + 1));
  return b;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}();
  return prefix + "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(salt % 100000);
}

int Infra(const std::string& args, std::string* output) {
  const std::string command = RequireEnv("PAYNOTIFY_INFRA") + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer{};
  std::string text;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) text.append(buffer.data(), n);
  int status = ::pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
             std::chrono::milliseconds poll) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace paynotify::testing

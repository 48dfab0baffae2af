#pragma once
// Shared helpers for the common/amqp integration tests.

#include <memory>
#include <string>
#include <vector>

#include "common/amqp/connection.hpp"
#include "common/amqp/message.hpp"
#include "common/amqp/settings.hpp"

namespace paynotify::amqp::testing {

/// Settings for the local test broker ($PAYNOTIFY_AMQP_URL) with a unique connection name.
BrokerSettings TestSettings(const std::string& connection_name_prefix = "amqp-test");

/// Deletes every queue/exchange registered with it when destroyed (on a fresh connection,
/// because the test's own may be broken by then). Failures are reported, never thrown.
class Cleanup {
 public:
  ~Cleanup();
  std::string Queue(const std::string& prefix);     // unique name, registered
  std::string Exchange(const std::string& prefix);  // unique name, registered

 private:
  std::vector<std::string> queues_;
  std::vector<std::string> exchanges_;
};

/// A message with every property set.
OutgoingMessage FullMessage(const std::string& exchange, const std::string& body);

/// The broker-side pid ("<paynotify@localhost.1.2.3>") of the connection whose
/// client_properties carry connection_name == `name`, or "" if not listed.
std::string FindConnectionPid(const std::string& name, std::string* timeout_s = nullptr);

}  // namespace paynotify::amqp::testing

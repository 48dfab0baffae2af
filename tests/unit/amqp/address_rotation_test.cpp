// Which broker address a (re)connect tries first: round-robin from the one after the address
// last connected to, so a daemon whose node died goes to the next node instead of retrying
// the dead one first. The real part (a closed first address) is in
// tests/integration/amqp/connection_test.cpp.
#include "common/amqp/settings.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/reader.hpp"

namespace paynotify::amqp {
namespace {

using Order = std::vector<size_t>;

TEST(AddressRotationTest, NeverConnectedStartsWithTheFirstAddress) {
  const AddressRotation rotation;
  EXPECT_EQ(rotation.Order(3), (Order{0, 1, 2}));
  EXPECT_EQ(rotation.Order(1), (Order{0}));
  EXPECT_EQ(rotation.Order(0), (Order{}));
  EXPECT_FALSE(rotation.Last().has_value());
}

TEST(AddressRotationTest, AReconnectStartsAfterTheLastAddressAndTriesThatOneLast) {
  AddressRotation rotation;
  rotation.Connected(0);
  EXPECT_EQ(rotation.Order(3), (Order{1, 2, 0}));
  rotation.Connected(1);
  EXPECT_EQ(rotation.Order(3), (Order{2, 0, 1}));
  rotation.Connected(2);
  EXPECT_EQ(rotation.Order(3), (Order{0, 1, 2}));  // wraps round
  EXPECT_EQ(rotation.Last(), 2u);
}

TEST(AddressRotationTest, OneAddressIsAlwaysThatAddress) {
  AddressRotation rotation;
  rotation.Connected(0);
  EXPECT_EQ(rotation.Order(1), (Order{0}));
}

TEST(AddressRotationTest, ALastIndexBeyondTheListStartsOver) {
  AddressRotation rotation;
  rotation.Connected(5);
  EXPECT_EQ(rotation.Order(3), (Order{0, 1, 2}));
}

TEST(BrokerAddressTest, ParsesHostPortForms) {
  BrokerAddress a;
  ASSERT_TRUE(ParseBrokerAddress("node-2:5673", a));
  EXPECT_EQ(a.host, "node-2");
  EXPECT_EQ(a.port, 5673);
  ASSERT_TRUE(ParseBrokerAddress("[::1]:5674", a));
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 5674);
  ASSERT_TRUE(ParseBrokerAddress("amqp://node-3:5675/vhost", a));
  EXPECT_EQ(a.host, "node-3");
  EXPECT_EQ(a.port, 5675);
  EXPECT_FALSE(ParseBrokerAddress("node:0", a));
  EXPECT_FALSE(ParseBrokerAddress("::1:5672", a));
}

// The environment override of a list is one comma-separated string; it replaces the file's list.
TEST(BrokerAddressTest, TheEnvironmentOverridesTheAddressListAsCommaSeparatedText) {
  const std::map<std::string, std::string> env = {
      {"PAYNOTIFY_RABBITMQ_ADDRESSES", "127.0.0.1:5701, 127.0.0.1:5702,127.0.0.1:5703"},
      {"PAYNOTIFY_RABBITMQ_PASSWORD", "x"}};
  auto reader = config::Reader::FromString("rabbitmq:\n  addresses: [\"file:5672\"]\n", "broker.yaml", "PAYNOTIFY",
                                           [&](const std::string& name) -> std::optional<std::string> {
                                             const auto it = env.find(name);
                                             if (it == env.end()) return std::nullopt;
                                             return it->second;
                                           });
  const BrokerSettings settings = ReadBrokerSettings(reader);
  EXPECT_NO_THROW(reader.Finish());
  ASSERT_EQ(settings.addresses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(settings.addresses[i].host, "127.0.0.1");
    EXPECT_EQ(settings.addresses[i].port, 5701 + static_cast<int>(i));
  }
}

config::Reader BrokerReader(const std::string& yaml, std::map<std::string, std::string> env) {
  env.emplace("PAYNOTIFY_RABBITMQ_PASSWORD", "x");
  return config::Reader::FromString(yaml, "broker.yaml", "PAYNOTIFY",
                                    [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
                                      const auto it = env.find(name);
                                      if (it == env.end()) return std::nullopt;
                                      return it->second;
                                    });
}

std::string FinishError(config::Reader& reader) {
  try {
    reader.Finish();
  } catch (const config::ConfigErrors& e) {
    return e.what();
  }
  return {};
}

// An address list set to nothing is an error, not a silent fall back to rabbitmq.host/port:
// a cluster's list that did not get filled in must not run the daemon on one node.
TEST(BrokerAddressTest, AnEnvironmentAddressListWithoutEntriesIsAnError) {
  for (const char* value : {"", " ", ",", " , ,"}) {
    auto reader = BrokerReader("rabbitmq:\n  host: 127.0.0.1\n", {{"PAYNOTIFY_RABBITMQ_ADDRESSES", value}});
    ReadBrokerSettings(reader);
    const std::string error = FinishError(reader);
    EXPECT_NE(error.find("rabbitmq.addresses"), std::string::npos) << "'" << value << "': " << error;
    EXPECT_NE(error.find("empty"), std::string::npos) << "'" << value << "': " << error;
  }
}

TEST(BrokerAddressTest, AFileAddressListWithoutEntriesIsAnErrorWithTheLine) {
  for (const char* yaml : {"rabbitmq:\n  addresses: \"\"\n", "rabbitmq:\n  addresses: []\n"}) {
    auto reader = BrokerReader(yaml, {});
    ReadBrokerSettings(reader);
    const std::string error = FinishError(reader);
    EXPECT_NE(error.find("broker.yaml:2"), std::string::npos) << yaml << error;
    EXPECT_NE(error.find("rabbitmq.addresses"), std::string::npos) << yaml << error;
    EXPECT_NE(error.find("empty"), std::string::npos) << yaml << error;
  }
}

TEST(BrokerAddressTest, NoAddressListUsesHostAndPort) {
  auto reader = BrokerReader("rabbitmq:\n  host: node-1\n  port: 5680\n", {});
  const BrokerSettings settings = ReadBrokerSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  ASSERT_EQ(settings.addresses.size(), 1u);
  EXPECT_EQ(settings.addresses[0].host, "node-1");
  EXPECT_EQ(settings.addresses[0].port, 5680);
}

// The same node twice (also spelled differently: default port, host case) is a typo for
// another node, not a second node.
TEST(BrokerAddressTest, ADuplicateAddressIsAnError) {
  for (const char* value : {"127.0.0.1:5672,127.0.0.1:5672", "a:5673, b:5674, a:5673", "node:5672, NODE",
                            "[::1]:5672, [::1]"}) {
    auto reader = BrokerReader("rabbitmq:\n  host: 127.0.0.1\n", {{"PAYNOTIFY_RABBITMQ_ADDRESSES", value}});
    ReadBrokerSettings(reader);
    const std::string error = FinishError(reader);
    EXPECT_NE(error.find("rabbitmq.addresses"), std::string::npos) << value << ": " << error;
    EXPECT_NE(error.find("more than once"), std::string::npos) << value << ": " << error;
  }
  auto reader = BrokerReader("rabbitmq:\n  addresses: [\"a:5672\", \"b:5672\", \"a:5672\"]\n", {});
  ReadBrokerSettings(reader);
  const std::string error = FinishError(reader);
  EXPECT_NE(error.find("broker.yaml:2"), std::string::npos) << error;
  EXPECT_NE(error.find("lists a:5672 more than once"), std::string::npos) << error;
}

TEST(BrokerAddressTest, TheSameHostOnOtherPortsIsNoDuplicate) {
  auto reader = BrokerReader("rabbitmq:\n  addresses: \"127.0.0.1:5672, 127.0.0.1:5673, 127.0.0.1:5674\"\n", {});
  const BrokerSettings settings = ReadBrokerSettings(reader);
  EXPECT_EQ(FinishError(reader), "");
  EXPECT_EQ(settings.addresses.size(), 3u);
}

}  // namespace
}  // namespace paynotify::amqp

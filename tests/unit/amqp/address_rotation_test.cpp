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

}  // namespace
}  // namespace paynotify::amqp

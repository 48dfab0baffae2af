// Connection opening and the pure parts of common/amqp (settings, header tables).

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "common/amqp/confirm_publisher.hpp"
#include "common/amqp/connection.hpp"
#include "common/amqp/consumer.hpp"
#include "common/amqp/errors.hpp"
#include "common/amqp/table.hpp"
#include "common/amqp/topology.hpp"
#include "common/config/reader.hpp"
#include "tests/integration/amqp/amqp_test_support.hpp"

namespace paynotify::amqp {
namespace {

using namespace std::chrono_literals;
using testing::TestSettings;

// A loopback port nobody listens on (bound then released).
int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// What `f` threw, which must be an `Error`; nothing (and a test failure) when it returned.
template <class Error, class F>
std::optional<Error> ThrownBy(F&& f) {
  try {
    f();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected an exception";
  return std::nullopt;
}

// What Connection::Open(settings) threw, which must be an `Error`.
template <class Error>
std::optional<Error> OpenError(const BrokerSettings& settings) {
  return ThrownBy<Error>([&] { Connection::Open(settings); });
}

TEST(AmqpConnection, TriesAddressesInOrder) {
  BrokerSettings settings = TestSettings();
  const BrokerAddress good = settings.addresses.front();
  settings.addresses = {BrokerAddress{"127.0.0.1", UnusedPort()}, good};
  auto connection = Connection::Open(settings);
  ASSERT_TRUE(connection->IsOpen());
  EXPECT_EQ(connection->Address().port, good.port);
  EXPECT_EQ(connection->Name(), settings.connection_name);
  EXPECT_EQ(connection->HeartbeatSeconds(), 10);
  connection->Close();
  EXPECT_FALSE(connection->IsOpen());
  connection->Close();  // idempotent
}

// A reconnect starts with the address after the one last connected to (round-robin): the
// node a daemon lost is tried last, not first. Here the "other nodes" are the same broker
// under two entries, with a closed port between them.
TEST(AmqpConnection, AReconnectStartsWithTheAddressAfterTheLastOne) {
  BrokerSettings settings = TestSettings();
  const BrokerAddress good = settings.addresses.front();
  settings.addresses = {good, BrokerAddress{"127.0.0.1", UnusedPort()}, good};
  AddressRotation rotation;
  Connection::Open(settings, &rotation)->Close();
  EXPECT_EQ(rotation.Last(), 0u);
  // Next: address 2 (the closed port 1 is tried first and skipped), not address 0 again.
  Connection::Open(settings, &rotation)->Close();
  EXPECT_EQ(rotation.Last(), 2u);
  // Then round to the first again.
  Connection::Open(settings, &rotation)->Close();
  EXPECT_EQ(rotation.Last(), 0u);
  // Without a rotation: always in list order.
  auto plain = Connection::Open(settings);
  EXPECT_EQ(plain->Address().port, good.port);
}

// The owners that reconnect (consumer, confirming publisher) take the list: a first address
// that is a closed port costs one refused connect, and both work through the second.
TEST(AmqpConnection, ConsumerAndPublisherWorkWhenTheFirstAddressIsClosed) {
  BrokerSettings settings = TestSettings();
  const BrokerAddress good = settings.addresses.front();
  settings.addresses = {BrokerAddress{"127.0.0.1", UnusedPort()}, good};
  testing::Cleanup cleanup;
  auto admin = Connection::Open(settings);
  const std::string queue = cleanup.Queue("rotation");
  DeclareQueue(*admin, QueueSpec{.name = queue});
  ConfirmPublisher publisher(settings);
  OutgoingMessage message;
  message.exchange = "";
  message.routing_key = queue;
  message.body = "hello";
  message.message_id = "rotation-1";
  const auto outcomes = publisher.PublishBatch({&message, 1}, 5s);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0], PublishOutcome::kConfirmed) << publisher.LastError();
  Consumer consumer(settings, queue, 1);
  auto delivery = consumer.Next(5s);
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->body, "hello");
  consumer.Ack(delivery->delivery_tag);
  consumer.Close();
  publisher.Close();
}

TEST(AmqpConnection, NoReachableAddressListsEveryError) {
  BrokerSettings settings = TestSettings();
  settings.addresses = {BrokerAddress{"127.0.0.1", UnusedPort()},
                        BrokerAddress{"127.0.0.1", UnusedPort()}};
  settings.connect_timeout = 1s;
  const auto error = OpenError<AmqpError>(settings);
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(error->retryable);
  const std::string what = error->what();
  EXPECT_NE(what.find(std::to_string(settings.addresses[0].port)), std::string::npos) << what;
  EXPECT_NE(what.find(std::to_string(settings.addresses[1].port)), std::string::npos) << what;
}

// Names are resolved by common/runtime/resolve (bounded by connect_timeout), not by rabbitmq-c:
// a name still reaches the broker, and one that does not resolve is a retryable error that
// says so.
TEST(AmqpConnection, AHostNameIsResolvedAndConnects) {
  BrokerSettings settings = TestSettings();
  ASSERT_EQ(settings.addresses.front().host, "127.0.0.1");
  settings.addresses.front().host = "localhost";
  auto connection = Connection::Open(settings);
  ASSERT_TRUE(connection);
  EXPECT_TRUE(connection->IsOpen());
}

TEST(AmqpConnection, AnUnresolvableHostIsARetryableResolutionError) {
  BrokerSettings settings = TestSettings();
  settings.addresses = {BrokerAddress{"paynotify-test.invalid", 5672}};  // RFC 6761: never resolves
  const auto error = OpenError<LibraryError>(settings);
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(error->retryable);
  EXPECT_EQ(error->status, AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED);
  const std::string what = error->what();
  EXPECT_NE(what.find("connect to paynotify-test.invalid:5672: resolving 'paynotify-test.invalid'"),
            std::string::npos) << what;
}

TEST(AmqpConnection, WrongPasswordIsAccessRefusedNotRetryable) {
  BrokerSettings settings = TestSettings();
  settings.password = "definitely-wrong";
  const auto error = OpenError<ConnectionClosed>(settings);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 403);
  EXPECT_NE(error->text.find("ACCESS_REFUSED"), std::string::npos) << error->text;
  EXPECT_FALSE(error->retryable);
}

TEST(AmqpConnection, UnknownVhostIsNotRetryable) {
  BrokerSettings settings = TestSettings();
  settings.virtual_host = "no-such-vhost-for-paynotify-tests";
  const auto error = OpenError<AmqpError>(settings);
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(error->retryable) << error->what();
}

// ---- pure parts (no broker) ----

// Reads `yaml` as a whole config file; expects every key of it to be known and valid.
BrokerSettings ReadValid(const std::string& yaml) {
  auto reader = config::Reader::FromString(yaml, "test.yaml", "");
  BrokerSettings settings = ReadBrokerSettings(reader);
  EXPECT_NO_THROW(reader.Finish());
  return settings;
}

TEST(AmqpSettings, ReadsSpringNames) {
  const BrokerSettings settings = ReadValid(R"(
rabbitmq:
  addresses: "a.example:5673, [::1]:5674, b.example"
  username: relay
  password: s3cret
  virtual-host: payments
  requested-heartbeat: 20
  connection-timeout: 2500ms
  connection-name: order-service relay
  reconnect:
    initial-interval: 500ms
    multiplier: 3
    max-interval: 1m
)");
  ASSERT_EQ(settings.addresses.size(), 3u);
  EXPECT_EQ(settings.addresses[0].host, "a.example");
  EXPECT_EQ(settings.addresses[0].port, 5673);
  EXPECT_EQ(settings.addresses[1].host, "::1");
  EXPECT_EQ(settings.addresses[1].port, 5674);
  EXPECT_EQ(settings.addresses[2].port, 5672);
  EXPECT_EQ(settings.username, "relay");
  EXPECT_EQ(settings.password, "s3cret");
  EXPECT_EQ(settings.virtual_host, "payments");
  EXPECT_EQ(settings.heartbeat_s, 20);  // bare number = seconds, as in Spring
  EXPECT_EQ(settings.connect_timeout, 2500ms);
  EXPECT_EQ(settings.connection_name, "order-service relay");
  EXPECT_EQ(settings.reconnect.initial, 500ms);
  EXPECT_DOUBLE_EQ(settings.reconnect.multiplier, 3.0);
  EXPECT_EQ(settings.reconnect.max, std::chrono::minutes(1));
}

TEST(AmqpSettings, DefaultsAndHostPort) {
  const BrokerSettings settings = ReadValid(R"(
rabbitmq:
  host: broker
  port: 5999
  password: x
  requested-heartbeat: 15s
)");
  ASSERT_EQ(settings.addresses.size(), 1u);
  EXPECT_EQ(settings.addresses[0].host, "broker");
  EXPECT_EQ(settings.addresses[0].port, 5999);
  EXPECT_EQ(settings.username, "guest");
  EXPECT_EQ(settings.virtual_host, "/");
  EXPECT_EQ(settings.heartbeat_s, 15);
  EXPECT_EQ(settings.connect_timeout, 5000ms);
}

TEST(AmqpSettings, ReportsEveryBadValue) {
  auto reader = config::Reader::FromString(R"(
rabbitmq:
  addresses: ["good:1", "bad:port", "x:70000"]
  requested-heartbeat: 1500ms
  reconnect:
    initial-interval: 10s
    max-interval: 1s
)",
                                           "test.yaml", "");
  (void)ReadBrokerSettings(reader);
  try {
    reader.Finish();
    FAIL() << "expected ConfigErrors";
  } catch (const config::ConfigErrors& errors) {
    const std::string what = errors.what();
    EXPECT_NE(what.find("rabbitmq.addresses: expected \"host\" or \"host:port\" (port 1-65535), "
                        "got 'bad:port'"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("got 'x:70000'"), std::string::npos) << what;
    EXPECT_NE(what.find("rabbitmq.requested-heartbeat: expected whole seconds"), std::string::npos)
        << what;
    EXPECT_NE(what.find("rabbitmq.reconnect.max-interval: must not be less than"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("rabbitmq.password"), std::string::npos) << what;  // required secret
  }
}

TEST(AmqpTable, HeadersRoundTripThroughATable) {
  const Headers headers{{"s", std::string("text")}, {"i", int64_t{-7}}, {"b", false},
                        {"d", 2.25}};
  const FieldTable table(headers);
  EXPECT_EQ(FromTable(table.Get()), headers);
  EXPECT_TRUE(FromTable(FieldTable(Headers{}).Get()).empty());
}

TEST(AmqpTable, DecodesNestedAndUnusualKindsWithoutCrashing) {
  amqp_field_value_t inner_values[2];
  inner_values[0].kind = AMQP_FIELD_KIND_UTF8;
  inner_values[0].value.bytes = amqp_cstring_bytes("a\"b");
  inner_values[1].kind = AMQP_FIELD_KIND_TIMESTAMP;
  inner_values[1].value.u64 = 1700000000;
  amqp_table_entry_t nested_entries[1];
  nested_entries[0].key = amqp_cstring_bytes("list");
  nested_entries[0].value.kind = AMQP_FIELD_KIND_ARRAY;
  nested_entries[0].value.value.array.num_entries = 2;
  nested_entries[0].value.value.array.entries = inner_values;

  amqp_table_entry_t entries[7];
  entries[0].key = amqp_cstring_bytes("table");
  entries[0].value.kind = AMQP_FIELD_KIND_TABLE;
  entries[0].value.value.table.num_entries = 1;
  entries[0].value.value.table.entries = nested_entries;
  entries[1].key = amqp_cstring_bytes("null");
  entries[1].value.kind = AMQP_FIELD_KIND_VOID;
  entries[2].key = amqp_cstring_bytes("u64");
  entries[2].value.kind = AMQP_FIELD_KIND_U64;
  entries[2].value.value.u64 = 18446744073709551615ull;
  entries[3].key = amqp_cstring_bytes("decimal");
  entries[3].value.kind = AMQP_FIELD_KIND_DECIMAL;
  entries[3].value.value.decimal.decimals = 2;
  entries[3].value.value.decimal.value = 12345;
  entries[4].key = amqp_cstring_bytes("i16");
  entries[4].value.kind = AMQP_FIELD_KIND_I16;
  entries[4].value.value.i16 = -3;
  entries[5].key = amqp_cstring_bytes("weird");
  entries[5].value.kind = 'Z';  // not an AMQP field kind at all
  entries[6].key = amqp_cstring_bytes("bytes");
  entries[6].value.kind = AMQP_FIELD_KIND_BYTES;
  entries[6].value.value.bytes = amqp_bytes_t{3, const_cast<char*>("a\0b")};
  const amqp_table_t table{7, entries};

  const Headers headers = FromTable(table);
  EXPECT_EQ(headers.at("table"), HeaderValue(std::string(R"({"list":["a\"b",1700000000]})")));
  EXPECT_EQ(headers.count("null"), 0u);
  EXPECT_EQ(headers.at("u64"), HeaderValue(std::string("18446744073709551615")));
  EXPECT_EQ(headers.at("decimal"), HeaderValue(123.45));
  EXPECT_EQ(headers.at("i16"), HeaderValue(int64_t{-3}));
  EXPECT_NE(std::get<std::string>(headers.at("weird")).find("unsupported"), std::string::npos);
  EXPECT_EQ(headers.at("bytes"), HeaderValue(std::string("a\0b", 3)));
}

TEST(AmqpTable, DeepNestingIsCut) {
  // 100 nested arrays, each holding the next.
  std::vector<amqp_field_value_t> values(100);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i].kind = AMQP_FIELD_KIND_ARRAY;
    values[i].value.array.num_entries = i + 1 < values.size() ? 1 : 0;
    values[i].value.array.entries = i + 1 < values.size() ? &values[i + 1] : nullptr;
  }
  amqp_table_entry_t entry;
  entry.key = amqp_cstring_bytes("deep");
  entry.value = values[0];
  const Headers headers = FromTable(amqp_table_t{1, &entry});
  EXPECT_NE(std::get<std::string>(headers.at("deep")).find("\"...\""), std::string::npos);
}

TEST(AmqpTable, NestedHeadersAreRenderedWithinABudget) {
  // 5000 strings of 20 control bytes: ~125 KiB on the wire, ~600 KiB as JSON text (issue 10:
  // a consumer copying that text into a retry copy could never publish it).
  const std::string control(20, '\x01');
  std::vector<amqp_field_value_t> strings(5000);
  for (auto& value : strings) {
    value.kind = AMQP_FIELD_KIND_UTF8;
    value.value.bytes = Bytes(control);
  }
  const std::string long_text(200000, 'x');
  amqp_table_entry_t inner;
  inner.key = amqp_cstring_bytes("long");
  inner.value.kind = AMQP_FIELD_KIND_BYTES;
  inner.value.value.bytes = Bytes(long_text);
  amqp_table_entry_t entries[2];
  entries[0].key = amqp_cstring_bytes("big");
  entries[0].value.kind = AMQP_FIELD_KIND_ARRAY;
  entries[0].value.value.array = amqp_array_t{static_cast<int>(strings.size()), strings.data()};
  entries[1].key = amqp_cstring_bytes("table");
  entries[1].value.kind = AMQP_FIELD_KIND_TABLE;
  entries[1].value.value.table = amqp_table_t{1, &inner};

  const Headers headers = FromTable(amqp_table_t{2, entries});
  for (const char* name : {"big", "table"}) {
    const std::string& text = std::get<std::string>(headers.at(name));
    EXPECT_LE(text.size(), kMaxHeaderJson + 3) << name;
    EXPECT_EQ(text.substr(text.size() - 3), "...") << name;
  }
  EXPECT_EQ(std::get<std::string>(headers.at("big")).rfind("[\"\\u0001\\u0001", 0), 0u);
  EXPECT_EQ(std::get<std::string>(headers.at("table")).rfind("{\"long\":\"xxx", 0), 0u);
}

TEST(AmqpErrors, ServerCloseBecomesTypedErrorWithBrokerText) {
  amqp_channel_close_t close{};
  close.reply_code = 406;
  close.reply_text = amqp_cstring_bytes(
      "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'q' in vhost '/': "
      "received the value '2' of type 'long' but current is none");
  amqp_rpc_reply_t reply{};
  reply.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
  reply.reply.id = AMQP_CHANNEL_CLOSE_METHOD;
  reply.reply.decoded = &close;
  const auto mismatch = ThrownBy<TopologyMismatch>([&] { CheckReply(reply, "queue.declare 'q'"); });
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->argument, "x-max-length");
  EXPECT_NE(std::string(mismatch->what()).find("queue.declare 'q'"), std::string::npos);

  amqp_connection_close_t hard{};
  hard.reply_code = 320;
  hard.reply_text = amqp_cstring_bytes("CONNECTION_FORCED - broker forced connection closure");
  reply.reply.id = AMQP_CONNECTION_CLOSE_METHOD;
  reply.reply.decoded = &hard;
  const auto closed = ThrownBy<ConnectionClosed>([&] { CheckReply(reply, "waiting"); });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 320);
  EXPECT_TRUE(closed->retryable);
  EXPECT_NE(closed->text.find("CONNECTION_FORCED"), std::string::npos);

  amqp_rpc_reply_t library{};
  library.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION;
  library.library_error = AMQP_STATUS_SOCKET_CLOSED;
  EXPECT_THROW(CheckReply(library, "x"), LibraryError);
  EXPECT_NO_THROW(CheckStatus(AMQP_STATUS_OK, "x"));
  EXPECT_THROW(CheckStatus(AMQP_STATUS_HEARTBEAT_TIMEOUT, "x"), LibraryError);
}

}  // namespace
}  // namespace paynotify::amqp

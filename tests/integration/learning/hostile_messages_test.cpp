// learning-service against hostile messages through the real broker (issue 10): anything that
// can publish to the exchange can send them, and none may stall the consumer, blind its logs
// or be lost.
#include <amqp.h>
#include <amqp_framing.h>

#include <random>

#include "common/amqp/errors.hpp"
#include "common/amqp/table.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {


// ~2 MB of members that each hold an invalid UTF-8 byte: the shape that took the decoder
// about a minute (every bad byte searched every member).
std::string ManyInvalidMembers(size_t bytes) {
  std::string body = "{";
  for (int i = 0; body.size() < bytes; ++i) body += "\"k" + std::to_string(i) + "\":\"\xFF\",";
  return body + "\"id\":1,\"messageType\":\"payresult_notify\"}";
}

// What the Java platform sends: no message_id, dedup key "payresult_notify:<id>".
std::string PaymentBody(int64_t id, int64_t selection) {
  return R"({"id":)" + std::to_string(id) + R"(,"messageType":"payresult_notify","businessKey1":")" +
         std::to_string(selection) + R"(","businessKey2":"60201","businessKey3":null})";
}

class HostileMessageTest : public LearningIntegrationTest {
 protected:
  /// The first message parked in the dead-letter queue (acked there).
  amqp::Delivery TakeParked() {
    amqp::Consumer dlq(settings_.broker, settings_.topology.dead_letter_queue, 1);
    std::optional<amqp::Delivery> parked = dlq.Next(5s);
    if (!parked) throw std::runtime_error("nothing parked in " + settings_.topology.dead_letter_queue);
    dlq.Ack(parked->delivery_tag);
    dlq.Close();
    return std::move(*parked);
  }

  /// Publishes a payment for a new selection of ours and waits until it is applied: the
  /// proof that the consumer is not stuck behind whatever came before.
  void ExpectANormalPaymentIsAppliedPromptly() {
    const int64_t selection = InsertSelection();
    const double applied = Counter("paynotify_learning_applied_total");
    Publish(PaymentMessage(selection));
    ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == applied + 1; }, 5s))
        << "a normal payment published after the hostile message was not applied within 5 s";
    EXPECT_EQ(SelectionStatus(selection), "701001");
  }

  /// Publishes `body` with a header table the sender built without our help: an array of
  /// `array_entries` strings of 20 control bytes (each becomes 20 \u0001 escapes as JSON
  /// text: about five times its wire size), a table nested `depth` levels deep, and a
  /// plain string header. Raw rabbitmq-c, because our FieldTable only writes scalars.
  void PublishWithTableHeaders(const std::string& body, const std::string& message_id, int array_entries,
                               int depth) {
    auto connection = amqp::Connection::Open(settings_.broker);
    const std::string control(20, '\x01');
    std::vector<amqp_field_value_t> strings(static_cast<size_t>(array_entries));
    for (auto& value : strings) {
      value.kind = AMQP_FIELD_KIND_UTF8;
      value.value.bytes = amqp::Bytes(control);
    }
    std::vector<amqp_table_entry_t> nested(static_cast<size_t>(depth));
    for (size_t i = 0; i < nested.size(); ++i) {
      nested[i].key = amqp_cstring_bytes("n");
      if (i + 1 < nested.size()) {
        nested[i].value.kind = AMQP_FIELD_KIND_TABLE;
        nested[i].value.value.table = amqp_table_t{1, &nested[i + 1]};
      } else {
        nested[i].value.kind = AMQP_FIELD_KIND_I32;
        nested[i].value.value.i32 = 1;
      }
    }
    const std::string trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    amqp_table_entry_t entries[3];
    entries[0].key = amqp_cstring_bytes("big");
    entries[0].value.kind = AMQP_FIELD_KIND_ARRAY;
    entries[0].value.value.array = amqp_array_t{array_entries, strings.data()};
    entries[1].key = amqp_cstring_bytes("deep");
    entries[1].value.kind = AMQP_FIELD_KIND_TABLE;
    entries[1].value.value.table = amqp_table_t{1, nested.data()};
    entries[2].key = amqp_cstring_bytes("traceparent");
    entries[2].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[2].value.value.bytes = amqp::Bytes(trace);

    amqp_basic_properties_t properties{};
    properties._flags = AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    properties.headers = amqp_table_t{3, entries};
    properties.message_id = amqp::Bytes(message_id);
    properties.delivery_mode = 2;
    const int status =
        amqp_basic_publish(connection->State(), amqp::Connection::kChannel, amqp::Bytes(settings_.topology.exchange),
                           amqp_empty_bytes, 0, 0, &properties, amqp::Bytes(body));
    ASSERT_EQ(status, AMQP_STATUS_OK) << amqp_error_string2(status);
    // channel.close is answered after everything before it on the channel: the message is routed.
    connection->Close();
  }
};

TEST_F(HostileMessageTest, TwoMegabytesOfInvalidUtf8IsParkedPromptlyWithABoundedReason) {
  // Let the body through the size check, to reach the decoder.
  settings_.max_body_bytes = 4 * 1024 * 1024;
  StartService();
  amqp::OutgoingMessage hostile;
  hostile.exchange = settings_.topology.exchange;
  hostile.message_id = UniqueName("utf8");
  hostile.body = ManyInvalidMembers(2'000'000);
  Publish(hostile);
  amqp::OutgoingMessage garbage = hostile;
  garbage.message_id = UniqueName("ff");
  garbage.body = std::string(2 * 1024 * 1024, '\xFF');
  Publish(garbage);
  // Decoding took about a minute per message before.
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 2; }, 5s));
  ExpectANormalPaymentIsAppliedPromptly();
  service_->Stop();

  for (int i = 0; i < 2; ++i) {
    const amqp::Delivery parked = TakeParked();
    const std::string error = HeaderString(parked.headers, "x-paynotify-error");
    EXPECT_LT(error.size(), 2048u) << error.substr(0, 200);
    if (parked.message_id == hostile.message_id) {
      EXPECT_EQ(parked.body, hostile.body);  // loses nothing
      EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-reason"), "invalid-message");
      EXPECT_NE(error.find("more problems not listed"), std::string::npos) << error;
    } else {
      EXPECT_EQ(parked.body, garbage.body);
      EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-reason"), "malformed-json");
      EXPECT_NE(error.find("2097152 invalid bytes in all"), std::string::npos) << error;
    }
  }
  EXPECT_EQ(Counter("paynotify_learning_dead_lettered_total", {{"reason", "invalid-message"}}), 1);
  EXPECT_EQ(Counter("paynotify_learning_dead_lettered_total", {{"reason", "malformed-json"}}), 1);
}

TEST_F(HostileMessageTest, BodyOverTheLimitIsParkedTooLargeUndecoded) {
  ASSERT_EQ(settings_.max_body_bytes, 262144u);  // the default
  const int64_t selection = InsertSelection();
  StartService();
  amqp::OutgoingMessage big = PaymentMessage(selection);
  big.body += std::string(300 * 1024, ' ');  // a valid payment, padded past 256 KiB
  Publish(big);
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 5s));
  ExpectANormalPaymentIsAppliedPromptly();
  service_->Stop();
  EXPECT_EQ(SelectionStatus(selection), "701002");  // never decoded, never applied
  const amqp::Delivery parked = TakeParked();
  EXPECT_EQ(parked.body, big.body);
  EXPECT_EQ(parked.message_id, big.message_id);
  EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-reason"), "too-large");
  EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-error"),
            "body: " + std::to_string(big.body.size()) +
                " bytes, more than the 262144 allowed (rabbitmq.listener.max-body-bytes); not decoded");
  EXPECT_EQ(Counter("paynotify_learning_dead_lettered_total", {{"reason", "too-large"}}), 1);
}

TEST_F(HostileMessageTest, HeadersThatOutgrowTheFrameWhenCopiedCannotHoldTheConsumer) {
  // Production's settle back-off: a message that cannot be parked used to come back every
  // 1, 2, 4, ... 30 s, forever.
  settings_.broker.reconnect = {1000ms, 2.0, 30000ms};
  StartService();
  // ~112 KiB of headers on the wire (the frame is 128 KiB); about 550 KiB as JSON text.
  const std::string invalid_id = UniqueName("tables");
  PublishWithTableHeaders("{}", invalid_id, 4500, 1000);
  // And one that goes round the retry queues first (its selection does not exist).
  const int64_t missing = 9'200'000'000'000'000'000 + static_cast<int64_t>(std::random_device{}() % 1000000);
  const std::string retried_id = UniqueName("tables-retry");
  PublishWithTableHeaders(PaymentBody(missing, missing), retried_id, 4500, 1000);

  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 2; }, 10s))
      << "parked: " << Ready(settings_.topology.dead_letter_queue) << ", settle failures: "
      << Counter("paynotify_learning_settle_failures_total", {{"action", "dead-letter"}}) << " + "
      << Counter("paynotify_learning_settle_failures_total", {{"action", "retry"}});
  ExpectANormalPaymentIsAppliedPromptly();
  service_->Stop();
  EXPECT_EQ(Counter("paynotify_learning_settle_failures_total", {{"action", "dead-letter"}}), 0);
  EXPECT_EQ(Counter("paynotify_learning_settle_failures_total", {{"action", "retry"}}), 0);
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "3"}}), 1);

  for (int i = 0; i < 2; ++i) {
    const amqp::Delivery parked = TakeParked();
    ASSERT_TRUE(parked.message_id == invalid_id || parked.message_id == retried_id) << *parked.message_id;
    EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-reason"),
              parked.message_id == invalid_id ? "invalid-message" : "selection-missing");
    // Only our headers, the original's summarised in about a KiB.
    for (const auto& [name, value] : parked.headers) EXPECT_EQ(name.rfind("x-paynotify-", 0), 0u) << name;
    const std::string summary = HeaderString(parked.headers, "x-paynotify-original-headers");
    EXPECT_LT(summary.size(), 2048u);
    EXPECT_NE(summary.find("big=\"[\"\\\\u0001"), std::string::npos) << summary.substr(0, 200);
    EXPECT_NE(summary.find("traceparent=\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\""),
              std::string::npos)
        << summary;
  }
}

TEST_F(HostileMessageTest, TheDeepestHeaderTableAFrameHoldsIsParked) {
  // 17,000 nested tables (~119 KiB): rabbitmq-c decodes them recursively on the consumer
  // thread (1-2 MiB of stack; see amqp::Consumer), we render 32 levels of them.
  StartService();
  const std::string id = UniqueName("deepest");
  PublishWithTableHeaders("{}", id, 0, 17000);
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 10s));
  ExpectANormalPaymentIsAppliedPromptly();
  service_->Stop();
  const amqp::Delivery parked = TakeParked();
  EXPECT_EQ(parked.message_id, id);
  EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-reason"), "invalid-message");
  EXPECT_LT(HeaderString(parked.headers, "x-paynotify-original-headers").size(), 2048u);
}

TEST_F(HostileMessageTest, MessageIdThatCannotBeAKeyIsParkedWithoutFailingItsBatch) {
  // Three messages waiting together make one batch: one has a message_id PostgreSQL text
  // cannot hold. It used to fail the batch's transaction (everything handled again one by
  // one) and then be parked as apply-failed.
  const int64_t first = InsertSelection();
  const int64_t second = InsertSelection();
  DeclareConsumerTopology(settings_.broker, settings_.topology);
  Publish(PaymentMessage(first));
  amqp::OutgoingMessage bad = PaymentMessage(InsertSelection());
  bad.message_id = "\xFF\xFE" + UniqueName("id");
  Publish(bad);
  Publish(PaymentMessage(second));
  StartService();
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 2; }, 5s));
  ASSERT_TRUE(WaitFor([&] { return Ready(settings_.topology.dead_letter_queue) == 1; }, 5s));
  service_->Stop();
  EXPECT_EQ(SelectionStatus(first), "701001");
  EXPECT_EQ(SelectionStatus(second), "701001");
  EXPECT_EQ(Counter("paynotify_learning_batch_fallbacks_total"), 0);
  const amqp::Delivery parked = TakeParked();
  EXPECT_EQ(parked.message_id, bad.message_id);
  EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-reason"), "invalid-message");
  EXPECT_EQ(HeaderString(parked.headers, "x-paynotify-error").rfind("message_id property: not valid UTF-8", 0), 0u);
}

}  // namespace
}  // namespace paynotify::learning::testing

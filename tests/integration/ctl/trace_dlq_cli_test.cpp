// paynotifyctl trace and the dead-letter queue: a payment whose message learning-service
// parked is found there (by message_id, or by the body's businessKey1 when the outbox row is
// gone), the walk leaves the queue as it was, and without the broker the trace still answers.
#include <gmock/gmock.h>

#include <fstream>

#include "tests/integration/ctl/ctl_fixture.hpp"
#include "tests/integration/dlq/dlq_support.hpp"

namespace paynotify::ctl::testing {
namespace {

using ::testing::HasSubstr;

class TraceDlqCli : public CtlIt {
 protected:
  void SetUp() override {
    CtlIt::SetUp();
    // learning-service's config with this test's queues (the parking queue is the default
    // <consumer.queue>.dlq) and the broker password from the environment.
    const auto& b = queues_.target.broker;
    std::ofstream(learning_config_, std::ios::app)
        << "rabbitmq:\n  host: " << b.addresses.at(0).host << "\n  port: " << b.addresses.at(0).port
        << "\n  username: " << b.username << "\n  virtual-host: " << b.virtual_host
        << "\nconsumer:\n  queue: " << queues_.target.queue << "\n";
    extra_env_["PAYNOTIFY_RABBITMQ_PASSWORD"] = b.password;
  }

  dlq::testing::DlqQueues queues_;
};

TEST_F(TraceDlqCli, AParkedMessageIsFoundByItsBusinessKeyAndLeftInPlace) {
  // Paid, published (the outbox row deleted: keep-history off), parked by the consumer
  // because the selection was missing.
  const int64_t selection = 880001;
  const int64_t pay_no = InsertPayment(std::to_string(selection), "learner-p", true);
  queues_.Park(dlq::testing::PaymentBody(100), "invalid-message");  // another payment's
  const std::string mid = queues_.Park(dlq::testing::PaymentBody(selection), "selection-missing");
  ASSERT_EQ(queues_.Ready(queues_.target.dead_letter_queue), 2u);

  const CtlRun run = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto doc = run.Json();
  EXPECT_EQ(doc["verdict"]["code"], "in_dead_letter_queue") << doc["verdict"]["text"];
  EXPECT_THAT(doc["verdict"]["text"].get<std::string>(), HasSubstr("paynotifyctl dlq replay " + mid));
  EXPECT_EQ(doc["dead_letter"]["checked"], true);
  EXPECT_EQ(doc["dead_letter"]["found"], true);
  EXPECT_EQ(doc["dead_letter"]["copies"], 1);
  EXPECT_EQ(doc["dead_letter"]["message_id"], mid);
  EXPECT_EQ(doc["dead_letter"]["reason"], "selection-missing");
  EXPECT_EQ(doc["dead_letter"]["queue"], queues_.target.dead_letter_queue);
  EXPECT_TRUE(doc["selection"].is_null());

  // Looking did not take anything out, nor reorder it.
  EXPECT_EQ(queues_.ListedIds().size(), 2u);
  EXPECT_EQ(queues_.ListedIds().back(), mid);

  const CtlRun text = Ctl({"trace", "--pay-no", std::to_string(pay_no)});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("dead-letter:   1 copy in " + queues_.target.dead_letter_queue +
                                  ": reason selection-missing"));
  EXPECT_THAT(text.out, HasSubstr("\nverdict: in_dead_letter_queue: "));
}

TEST_F(TraceDlqCli, AMessageIdFoundOnlyInTheParkingQueueLeadsBackToItsPayment) {
  const int64_t selection = 880002;
  const int64_t pay_no = InsertPayment(std::to_string(selection), "learner-q", true);
  const std::string mid = queues_.Park(dlq::testing::PaymentBody(selection), "retries-exhausted",
                                       "6f1c0000-0000-4000-8000-000000880002");
  const auto doc = Ctl({"--json", "trace", "--message-id", mid}).Json();
  EXPECT_EQ(doc["verdict"]["code"], "in_dead_letter_queue");
  EXPECT_EQ(doc["payment"]["pay_no"], pay_no) << "followed from the parked body's businessKey1";
  EXPECT_EQ(doc["selection_id"], std::to_string(selection));
}

TEST_F(TraceDlqCli, NotInTheParkingQueueSaysSo) {
  const int64_t selection = 880003;
  const int64_t pay_no = InsertPayment(std::to_string(selection), "learner-r", true);
  const auto doc = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)}).Json();
  EXPECT_EQ(doc["dead_letter"]["checked"], true);
  EXPECT_EQ(doc["dead_letter"]["found"], false);
  EXPECT_EQ(doc["verdict"]["code"], "in_flight");
}

TEST_F(TraceDlqCli, WithoutTheBrokerTheTraceStillAnswersFromTheDatabases) {
  const int64_t selection = 880004;
  const int64_t pay_no = InsertPayment(std::to_string(selection), "learner-s", true);
  extra_env_["PAYNOTIFY_RABBITMQ_PORT"] = "1";  // nothing listens there
  CtlRun run = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)});
  ASSERT_EQ(run.status, 0) << run.err;
  auto doc = run.Json();
  EXPECT_EQ(doc["dead_letter"]["checked"], false);
  EXPECT_THAT(doc["dead_letter"]["reason"].get<std::string>(), HasSubstr("broker unreachable"));
  EXPECT_EQ(doc["verdict"]["code"], "in_flight");
  EXPECT_THAT(doc["verdict"]["text"].get<std::string>(), HasSubstr("the dead-letter queue was not checked"));

  // No password at all: learning-service's rabbitmq.* is incomplete, the databases still answer.
  extra_env_.erase("PAYNOTIFY_RABBITMQ_PASSWORD");
  extra_env_.erase("PAYNOTIFY_RABBITMQ_PORT");
  run = Ctl({"--json", "trace", "--pay-no", std::to_string(pay_no)});
  ASSERT_EQ(run.status, 0) << run.err;
  doc = run.Json();
  EXPECT_EQ(doc["dead_letter"]["checked"], false);
  EXPECT_THAT(doc["dead_letter"]["reason"].get<std::string>(), HasSubstr("rabbitmq.password"));
}

}  // namespace
}  // namespace paynotify::ctl::testing

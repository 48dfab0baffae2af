// Database stopped while payment results arrive: they are held (not parked) and applied once
// PostgreSQL is back. SERIAL: it stops the shared PostgreSQL server.
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

TEST_F(LearningIntegrationTest, DatabaseStoppedWhileMessagesArriveTheyAreAppliedAfterItReturns) {
  const int64_t first = InsertSelection();
  const int64_t second = InsertSelection();
  StartService();
  std::string output;
  ASSERT_EQ(paynotify::testing::Infra("stop postgres", &output), 0) << output;
  // Whatever happens below, bring the server back for the other tests.
  struct Restart {
    ~Restart() { paynotify::testing::Infra("start postgres"); }
  } restart;

  Publish(PaymentMessage(first));
  Publish(PaymentMessage(second));
  ASSERT_TRUE(WaitFor([&] { return service_->DatabaseAvailable() == false; }, 15s));
  EXPECT_FALSE(service_->Ready());
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 0);

  ASSERT_EQ(paynotify::testing::Infra("start postgres", &output), 0) << output;
  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 2; }, 30s));
  EXPECT_TRUE(service_->DatabaseAvailable());
  EXPECT_EQ(SelectionStatus(first), "701001");
  EXPECT_EQ(SelectionStatus(second), "701001");
  EXPECT_EQ(CourseTableRows(first), 1);
  EXPECT_EQ(CourseTableRows(second), 1);
  // Nothing was parked or sent round the retry queues: the outage cost no attempts.
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 0u);
  EXPECT_EQ(Counter("paynotify_learning_retried_total", {{"attempt", "2"}}), 0);
}

}  // namespace
}  // namespace paynotify::learning::testing

// The inbox retention runs inside learning-service (issue 11 §4): started with the consumer, on
// a thread of its own and its own connection, it deletes processed_message rows older than
// consumer.dedup-retention, keeps the younger ones, counts it, and stops with the service at
// once even while it waits out its idle interval.
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

// The rows are 10 and 5 days old and this service keeps 7 days: every other learning-service
// on the shared database (other tests running beside this one, at the default 14 days) leaves
// them alone, so the rows this one deleted are exactly what its counter counts. (With 15-day
// rows, another service sometimes deleted them first and the counter read 0.)
TEST_F(LearningIntegrationTest, InboxRetentionDeletesExpiredRowsInsideTheService) {
  std::vector<std::string> old_keys;
  for (int i = 0; i < 3; ++i) {
    old_keys.push_back(UniqueName("ret-old"));
    keys_.push_back(old_keys.back());
    ExecCommitted(LearningDb(), "INSERT INTO processed_message VALUES ($1, now() - interval '10 days')",
                  old_keys.back());
  }
  const std::string young = UniqueName("ret-young");
  keys_.push_back(young);
  ExecCommitted(LearningDb(), "INSERT INTO processed_message VALUES ($1, now() - interval '5 days')", young);
  settings_.inbox_retention.retention = std::chrono::hours(24 * 7);
  settings_.inbox_retention.idle_interval = std::chrono::hours(1);
  StartService();

  ASSERT_TRUE(WaitFor(
      [&] {
        int left = 0;
        for (const auto& key : old_keys) left += ProcessedRows(key);
        return left == 0;
      },
      20s));
  EXPECT_EQ(ProcessedRows(young), 1);
  // At least ours (the shared table may hold other rows older than 7 days, deleted alike).
  EXPECT_GE(Counter("paynotify_retention_deleted_rows_total", {{"table", "processed_message"}}), 3);

  const auto asked = std::chrono::steady_clock::now();
  service_->Stop();  // the retention thread is in its one-hour idle wait
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
}

}  // namespace
}  // namespace paynotify::learning::testing

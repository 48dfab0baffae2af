// Batched apply against the real database: PgEnrollmentRepository::ApplyBatch directly (every
// per-item outcome, all-or-nothing), then the whole consumer taking a backlog in batches.
#include <gmock/gmock.h>

#include "learning-service/enrollment/pg_enrollment_repository.hpp"
#include "tests/integration/learning/learning_fixture.hpp"

namespace paynotify::learning::testing {
namespace {

using ::testing::ElementsAre;

class EnrollmentBatchTest : public LearningIntegrationTest {
 protected:
  PaymentApplication Application(int64_t selection) {
    const std::string key = UniqueName("batch-key");
    keys_.push_back(key);
    return {key, selection};
  }

  /// A selection of our learner for a given course (for the "has the course already" case).
  int64_t InsertSelectionForCourse(int64_t course_id) {
    pqxx::connection conn(PgConnString(LearningDb()));
    pqxx::work tx(conn);
    const auto row = tx.exec_params1(
        "INSERT INTO xc_choose_course (course_id, course_name, user_id, company_id, order_type, course_price, "
        "valid_days, status) VALUES ($1, 'Compilers', $2, 1232141425, '700002', 99.00, 365, '701002') RETURNING id",
        course_id, user_);
    tx.commit();
    return row[0].as<int64_t>();
  }

  int LearnerCourseRows() {
    pqxx::connection conn(PgConnString(LearningDb()));
    pqxx::work tx(conn);
    return tx.exec_params1("SELECT count(*) FROM xc_course_tables WHERE user_id = $1", user_)[0].as<int>();
  }
};

TEST_F(EnrollmentBatchTest, EveryOutcomeOfABatchIsAsIfAppliedOneByOne) {
  PgEnrollmentRepository repository(settings_.database);
  const auto before = Application(InsertSelection());
  ASSERT_EQ(repository.Apply(before), ApplyResult::kApplied);

  const auto a = Application(InsertSelection());
  const auto b = Application(InsertSelection("701001"));  // selected already: still a success
  const auto missing = Application(987'654'321'098);      // no such selection
  const std::vector<PaymentApplication> batch{a, before, b, a, missing};
  EXPECT_THAT(repository.ApplyBatch(batch),
              ElementsAre(ApplyResult::kApplied, ApplyResult::kDuplicate, ApplyResult::kApplied,
                          ApplyResult::kDuplicate, ApplyResult::kSelectionMissing));
  EXPECT_EQ(SelectionStatus(a.choose_course_id), "701001");
  EXPECT_EQ(SelectionStatus(b.choose_course_id), "701001");
  EXPECT_EQ(CourseTableRows(a.choose_course_id), 1);
  EXPECT_EQ(CourseTableRows(b.choose_course_id), 1);
  EXPECT_EQ(CourseTableRows(before.choose_course_id), 1);
  EXPECT_EQ(ProcessedRows(a.message_key), 1);
  EXPECT_EQ(ProcessedRows(b.message_key), 1);
  EXPECT_EQ(ProcessedRows(missing.message_key), 0);  // not applied, so not recorded: its retry must apply

  // Applying the same batch again changes nothing (redelivery after an unknown commit outcome).
  EXPECT_THAT(repository.ApplyBatch(batch),
              ElementsAre(ApplyResult::kDuplicate, ApplyResult::kDuplicate, ApplyResult::kDuplicate,
                          ApplyResult::kDuplicate, ApplyResult::kSelectionMissing));
  EXPECT_EQ(LearnerCourseRows(), 3);
}

TEST_F(EnrollmentBatchTest, CourseRowCarriesTheValidityTheSelectionWasGiven) {
  PgEnrollmentRepository repository(settings_.database);
  const auto paid = Application(InsertSelection());
  const auto selected_before = Application(InsertSelection("701001"));
  {  // a selection already selected keeps its own validity window
    pqxx::connection conn(PgConnString(LearningDb()));
    pqxx::work tx(conn);
    tx.exec_params0("UPDATE xc_choose_course SET validtime_start = '2026-01-01Z', validtime_end = '2027-01-01Z' "
                    "WHERE id = $1",
                    selected_before.choose_course_id);
    tx.commit();
  }
  ASSERT_THAT(repository.ApplyBatch(std::vector<PaymentApplication>{paid, selected_before}),
              ElementsAre(ApplyResult::kApplied, ApplyResult::kApplied));
  pqxx::connection conn(PgConnString(LearningDb()));
  pqxx::work tx(conn);
  for (const auto& a : {paid, selected_before}) {
    const auto row = tx.exec_params1(
        "SELECT c.validtime_start = t.validtime_start AND c.validtime_end = t.validtime_end, "
        "c.validtime_end - c.validtime_start, c.status FROM xc_choose_course c "
        "JOIN xc_course_tables t ON t.choose_course_id = c.id WHERE c.id = $1",
        a.choose_course_id);
    EXPECT_TRUE(row[0].as<bool>()) << "selection " << a.choose_course_id;
    EXPECT_EQ(row[2].as<std::string>(), "701001");
    if (a.message_key == paid.message_key) {
      EXPECT_EQ(row[1].as<std::string>(), "365 days");
    }
  }
  const auto kept = tx.exec_params1("SELECT validtime_start = '2026-01-01Z' FROM xc_choose_course WHERE id = $1",
                                    selected_before.choose_course_id);
  EXPECT_TRUE(kept[0].as<bool>());
}

TEST_F(EnrollmentBatchTest, AppliedMessageWhoseSelectionWasDeletedSinceIsStillADuplicate) {
  PgEnrollmentRepository repository(settings_.database);
  const auto a = Application(InsertSelection());
  ASSERT_EQ(repository.Apply(a), ApplyResult::kApplied);
  {
    pqxx::connection conn(PgConnString(LearningDb()));
    pqxx::work tx(conn);
    tx.exec_params0("DELETE FROM xc_course_tables WHERE choose_course_id = $1", a.choose_course_id);
    tx.exec_params0("DELETE FROM xc_choose_course WHERE id = $1", a.choose_course_id);
    tx.commit();
  }
  // Redelivered: applied before, so acked as a duplicate, not retried and parked as missing.
  EXPECT_EQ(repository.Apply(a), ApplyResult::kDuplicate);
}

TEST_F(EnrollmentBatchTest, TwoSelectionsOfTheSameCourseInOneBatchGiveTheLearnerOneCourseRow) {
  PgEnrollmentRepository repository(settings_.database);
  const auto first = Application(InsertSelectionForCourse(424242));
  const auto second = Application(InsertSelectionForCourse(424242));
  EXPECT_THAT(repository.ApplyBatch(std::vector<PaymentApplication>{first, second}),
              ElementsAre(ApplyResult::kApplied, ApplyResult::kApplied));
  EXPECT_EQ(SelectionStatus(first.choose_course_id), "701001");
  EXPECT_EQ(SelectionStatus(second.choose_course_id), "701001");
  EXPECT_EQ(LearnerCourseRows(), 1);
}

TEST_F(EnrollmentBatchTest, AFailingItemRollsBackTheWholeBatch) {
  PgEnrollmentRepository repository(settings_.database);
  const auto good = Application(InsertSelection());
  // processed_message.message_key is varchar(255): a longer key is a data error.
  const PaymentApplication too_long{std::string(300, 'k'), InsertSelection()};
  try {
    repository.ApplyBatch(std::vector<PaymentApplication>{good, too_long});
    FAIL() << "a batch with a 300-character key must fail";
  } catch (const RepositoryError& e) {
    EXPECT_EQ(e.kind(), FailureKind::kPermanent) << e.what();
  }
  EXPECT_EQ(SelectionStatus(good.choose_course_id), "701002");
  EXPECT_EQ(CourseTableRows(good.choose_course_id), 0);
  EXPECT_EQ(ProcessedRows(good.message_key), 0);
  // The connection stays usable: the good one alone applies.
  EXPECT_EQ(repository.Apply(good), ApplyResult::kApplied);
}

TEST_F(EnrollmentBatchTest, BacklogIsAppliedInBatchesExactlyOnceAndBadMessagesAreStillParked) {
  service_ = std::make_unique<LearningService>(settings_, registry_);
  service_->DeclareTopology();  // the queue exists (and is bound) before the backlog is published
  std::vector<int64_t> selections;
  for (int i = 0; i < 30; ++i) {
    selections.push_back(InsertSelection());
    Publish(PaymentMessage(selections.back()));
  }
  const auto again = PaymentMessage(selections.front());  // one message published twice
  Publish(again);
  Publish(again);
  amqp::OutgoingMessage bad = PaymentMessage(selections.back());
  bad.body = "{not json";
  Publish(bad);
  service_->ConnectDatabase();
  service_->Start();

  ASSERT_TRUE(WaitFor([&] { return Counter("paynotify_learning_applied_total") == 31; }, 20s))
      << "applied " << Counter("paynotify_learning_applied_total");
  ASSERT_TRUE(WaitFor(
      [&] { return Counter("paynotify_learning_dead_lettered_total", {{"reason", "malformed-json"}}) == 1; }, 10s));
  service_->Stop();
  EXPECT_EQ(Counter("paynotify_learning_duplicates_total"), 1);
  for (int64_t s : selections) {
    EXPECT_EQ(SelectionStatus(s), "701001") << s;
    EXPECT_EQ(CourseTableRows(s), 1) << s;
  }
  EXPECT_EQ(Ready(settings_.topology.queue), 0u);  // everything acked, including by the multiple acks
  EXPECT_EQ(Ready(settings_.topology.dead_letter_queue), 1u);
  // The backlog was waiting at start, so the consumer took it in batches of up to 5.
  const metrics::Histogram& batches = registry_.GetHistogram("paynotify_learning_batch_size", "", consumer::kBatchSizeBuckets);
  EXPECT_LT(batches.Count(), 33u);
  EXPECT_EQ(batches.Sum(), 33.0);  // 30 + the twice-published one + the bad one
}

}  // namespace
}  // namespace paynotify::learning::testing

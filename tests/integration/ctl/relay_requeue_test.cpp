// paynotifyctl outbox requeue against the relay's own store (PgOutboxStore: the claim with
// FOR UPDATE SKIP LOCKED, parking, completion): a row the relay parked is claimed again after
// a requeue, with its attempts reset; a requeue of a row the relay is publishing waits for it
// and, when the publish is confirmed, changes nothing.
#include <gmock/gmock.h>

#include <cstdlib>

#include "order-service/outbox/pg_outbox_store.hpp"
#include "tests/integration/ctl/ctl_fixture.hpp"
#include "tests/support/server_settings.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::ctl::testing {
namespace {

using namespace std::chrono_literals;
using order::ClaimedBatch;
using order::OutboxRetry;
using order::PgOutboxStore;

class RelayRequeueIt : public CtlIt {
 protected:
  void SetUp() override {
    CtlIt::SetUp();
    // The store under test reaches this test's schema the way order-service's integration
    // tests do (libpq reads PGOPTIONS); paynotifyctl children get their own environment.
    ::setenv("PGOPTIONS", ("-c search_path=" + schema_).c_str(), 1);
    store_ = std::make_unique<PgOutboxStore>(
        paynotify::testing::PgSettingsFromEnv(paynotify::testing::OrdersDb(), "ctl-it relay"), false);
  }
  void TearDown() override {
    store_.reset();
    ::unsetenv("PGOPTIONS");
    CtlIt::TearDown();
  }

  static std::vector<int64_t> Ids(const ClaimedBatch& batch) {
    std::vector<int64_t> ids;
    for (const auto& r : batch.Records()) ids.push_back(r.id);
    return ids;
  }

  std::unique_ptr<PgOutboxStore> store_;
};

TEST_F(RelayRequeueIt, ARowTheRelayParkedIsClaimedAgainAfterARequeue) {
  const OutboxRow row = InsertOutbox("K1");
  {
    std::unique_ptr<ClaimedBatch> batch = store_->Claim(10);
    ASSERT_EQ(Ids(*batch), std::vector<int64_t>{row.id});
    batch->Complete({}, {OutboxRetry{row.id, "returned: NO_ROUTE", 0ms, true}});  // its last attempt
  }
  EXPECT_TRUE(Ids(*store_->Claim(10)).empty()) << "parked: never claimed";
  EXPECT_EQ(Ctl({"--json", "outbox", "list", "--parked"}).Json()["rows"][0]["id"], row.id);

  const CtlRun run = Ctl({"outbox", "requeue", std::to_string(row.id)});
  ASSERT_EQ(run.status, 0) << run.err;

  std::unique_ptr<ClaimedBatch> batch = store_->Claim(10);
  ASSERT_EQ(Ids(*batch), std::vector<int64_t>{row.id}) << "due again for the relay";
  EXPECT_EQ(batch->Records().at(0).execute_num, 0);
  EXPECT_EQ(batch->Records().at(0).message_id, row.message_id);
  batch->Complete({row.id}, {});
  EXPECT_EQ(Orders("SELECT count(*) FROM mq_message")[0][0].as<int>(), 0);
}

TEST_F(RelayRequeueIt, ARequeueWaitsForTheRelaysClaimAndAConfirmedRowIsLeftAlone) {
  const OutboxRow row = InsertOutbox("K2", 3, 0, false, "nacked");
  std::unique_ptr<ClaimedBatch> batch = store_->Claim(10);  // the relay is publishing it
  ASSERT_EQ(Ids(*batch), std::vector<int64_t>{row.id});

  CtlChild child = Start({"--json", "outbox", "requeue", std::to_string(row.id)});
  ASSERT_TRUE(paynotify::testing::WaitFor(
      [&] {
        return Orders("SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_activity r "
                      "ON r.pid = ANY(pg_blocking_pids(a.pid)) WHERE a.application_name = 'paynotifyctl' "
                      "AND r.application_name = 'ctl-it relay'")[0][0]
                   .as<int>() > 0;
      },
      20s))
      << "paynotifyctl did not wait for the relay's claim";
  batch->Complete({row.id}, {});  // confirmed: the row is deleted

  const CtlRun run = child.Wait();
  EXPECT_EQ(run.status, 1) << run.err;
  EXPECT_EQ(run.Json()["error"]["kind"], "not_found");
  EXPECT_TRUE(Ids(*store_->Claim(10)).empty()) << "nothing was brought back";
}

}  // namespace
}  // namespace paynotify::ctl::testing

// paynotifyctl dlq as operators run it: the binary as a child process with a learning-service
// config naming this test's own queues; --json shapes, tables and exit statuses of each command.
#include <gtest/gtest.h>


#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/amqp/queue_browser.hpp"
#include "tests/integration/dlq/dlq_support.hpp"
#include "tests/support/program_run.hpp"

namespace paynotify::ctl::dlq::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using CtlRun = paynotify::testing::ProgramRun;

class DlqCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / paynotify::testing::UniqueName("dlq-cli");
    fs::create_directories(dir_);
    WriteConfig(q_.target.queue, q_.target.broker.addresses.at(0).port);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // learning-service's config as an operator's copy of it would be: only what dlq reads.
  void WriteConfig(const std::string& queue, int port) {
    std::ofstream(dir_ / "learning.yaml") << "rabbitmq:\n"
                                          << "  host: " << q_.target.broker.addresses.at(0).host << "\n"
                                          << "  port: " << port << "\n"
                                          << "  username: " << q_.target.broker.username << "\n"
                                          << "  virtual-host: " << q_.target.broker.virtual_host << "\n"
                                          << "  connection-timeout: 2s\n"
                                          << "consumer:\n"
                                          << "  queue: " << queue << "\n";
  }

  // Runs paynotifyctl with the config and the password from the environment (as scripts/ctl
  // gives it); bounded: killed after 60 s.
  CtlRun Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--learning-config", (dir_ / "learning.yaml").string()});
    return paynotify::testing::RunProgram(
        PAYNOTIFYCTL_BINARY, args, {{}, {{"PAYNOTIFY_RABBITMQ_PASSWORD", q_.target.broker.password}}});
  }

  void ParkThree() {
    ids_.push_back(q_.Park(PaymentBody(301), "selection-missing"));
    ids_.push_back(q_.Park("\x01\x1b[31mred\xff", "malformed-json"));
    ids_.push_back(q_.Park(PaymentBody(302), "selection-missing"));
  }

  DlqQueues q_;
  fs::path dir_;
  std::vector<std::string> ids_;
};

TEST_F(DlqCliTest, ListJsonAndTable) {
  ParkThree();
  const CtlRun run = Ctl({"--json", "dlq", "list"});
  ASSERT_EQ(run.status, 0) << run.err;
  const json doc = run.Json();
  EXPECT_EQ(doc["queue"], q_.target.dead_letter_queue);
  EXPECT_EQ(doc["count"], 3);
  EXPECT_EQ(doc["more"], false);
  EXPECT_EQ(doc["walk"]["end"], "all-seen");
  EXPECT_EQ(doc["walk"]["queue_depth"], 3);
  ASSERT_EQ(doc["messages"].size(), 3u);
  const json& first = doc["messages"][0];
  for (const char* key : {"position", "message_id", "reason", "error", "attempts", "failed_at", "replayed",
                          "business_key1", "business_key2", "body_problem", "body_bytes", "body_start"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_EQ(first["message_id"], ids_[0]);
  EXPECT_EQ(first["reason"], "selection-missing");
  EXPECT_EQ(first["attempts"], 3);
  EXPECT_EQ(first["business_key1"], "301");
  EXPECT_EQ(first["business_key2"], "60201");
  EXPECT_TRUE(doc["messages"][1]["business_key1"].is_null());
  EXPECT_EQ(doc["messages"][1]["body_start"], "\\x01\\x1B[31mred\\xFF");  // escaped

  const CtlRun table = Ctl({"dlq", "list", "--reason", "malformed-json"});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("MESSAGE_ID"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(ids_[1]), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find(ids_[0]), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find('\x1b'), std::string::npos) << "no raw byte of the body reaches the terminal";
  EXPECT_EQ(table.out.find('\x01'), std::string::npos);
  EXPECT_TRUE(table.err.empty()) << table.err;  // no library chatter

  const CtlRun limited = Ctl({"--json", "dlq", "list", "--limit", "1"});
  EXPECT_EQ(limited.Json()["more"], true);
  EXPECT_EQ(Ctl({"dlq", "list", "--limit", "0"}).status, 2);
  EXPECT_EQ(q_.ListedIds(), ids_);  // all that reading took nothing
}

TEST_F(DlqCliTest, StatsJson) {
  ParkThree();
  const CtlRun run = Ctl({"--json", "dlq", "stats"});
  ASSERT_EQ(run.status, 0) << run.err;
  const json doc = run.Json();
  EXPECT_EQ(doc["total"], 3);
  EXPECT_EQ(doc["reasons"]["selection-missing"], 2);
  EXPECT_EQ(doc["reasons"]["malformed-json"], 1);
  const CtlRun table = Ctl({"dlq", "stats"});
  EXPECT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("selection-missing"), std::string::npos);
}

TEST_F(DlqCliTest, ShowFoundAndNotFound) {
  ParkThree();
  const CtlRun run = Ctl({"--json", "dlq", "show", ids_[1]});
  ASSERT_EQ(run.status, 0) << run.err;
  const json doc = run.Json();
  EXPECT_EQ(doc["message_id"], ids_[1]);
  EXPECT_EQ(doc["position"], 1);
  EXPECT_EQ(doc["properties"]["content_type"], "application/json");
  EXPECT_EQ(doc["properties"]["delivery_mode"], 2);
  EXPECT_EQ(doc["headers"]["x-paynotify-reason"], "malformed-json");
  EXPECT_EQ(doc["headers"]["x-paynotify-attempts"], 3);
  EXPECT_EQ(doc["body"], "\\x01\\x1B[31mred\\xFF");
  EXPECT_EQ(doc["body_bytes"], 10);
  EXPECT_EQ(doc["body_truncated"], false);

  const CtlRun text = Ctl({"dlq", "show", ids_[0]});
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("header x-paynotify-reason"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(PaymentBody(301)), std::string::npos) << text.out;

  const CtlRun missing = Ctl({"--json", "dlq", "show", "no-such-id"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.Json()["error"]["kind"], "not_found");
  EXPECT_EQ(Ctl({"dlq", "show"}).status, 2);
  EXPECT_EQ(Ctl({"dlq", "show", "a", "b"}).status, 2);
}

TEST_F(DlqCliTest, ReplayJsonAndExitStatuses) {
  ParkThree();
  EXPECT_EQ(Ctl({"dlq", "replay"}).status, 2);                                    // nothing selected
  EXPECT_EQ(Ctl({"dlq", "replay", ids_[0], "--all"}).status, 2);                  // two selections
  const CtlRun dry = Ctl({"--json", "dlq", "replay", "--all", "--dry-run"});
  ASSERT_EQ(dry.status, 0) << dry.err;
  EXPECT_EQ(dry.Json()["dry_run"], true);
  EXPECT_EQ(dry.Json()["selected"], 3);
  EXPECT_EQ(dry.Json()["replayed"], 0);
  EXPECT_EQ(q_.Ready(q_.target.queue), 0u);

  const CtlRun run = Ctl({"--json", "dlq", "replay", ids_[2]});
  ASSERT_EQ(run.status, 0) << run.err;
  const json doc = run.Json();
  EXPECT_EQ(doc["main_queue"], q_.target.queue);
  EXPECT_EQ(doc["replayed"], 1);
  EXPECT_EQ(doc["failed"], 0);
  EXPECT_EQ(doc["not_found"], json::array());
  ASSERT_EQ(doc["items"].size(), 1u);
  EXPECT_EQ(doc["items"][0]["message_id"], ids_[2]);
  EXPECT_EQ(doc["items"][0]["outcome"], "replayed");
  EXPECT_EQ(doc["items"][0]["replayed"], 1);
  EXPECT_EQ(q_.ListedIds(), (std::vector<std::string>{ids_[0], ids_[1]}));

  // A named id that is not parked: the others are still replayed, the report says which, exit 1.
  const CtlRun partly = Ctl({"--json", "dlq", "replay", ids_[0], "gone"});
  EXPECT_EQ(partly.status, 1);
  EXPECT_EQ(partly.Json()["replayed"], 1);
  EXPECT_EQ(partly.Json()["not_found"], json::array({"gone"}));
  EXPECT_NE(partly.err.find("gone"), std::string::npos) << partly.err;
  EXPECT_EQ(q_.ListedIds(), std::vector<std::string>{ids_[1]});
  EXPECT_EQ(DlqQueues::IdsOf(q_.Drain(q_.target.queue)), (std::vector<std::string>{ids_[2], ids_[0]}));

  const CtlRun table = Ctl({"dlq", "replay", "--reason", "malformed-json"});
  EXPECT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("1 replayed"), std::string::npos) << table.out;
}

TEST_F(DlqCliTest, DiscardNeedsYesAndLogsFirst) {
  ParkThree();
  const CtlRun refused = Ctl({"dlq", "discard", "--reason", "malformed-json"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("--yes"), std::string::npos);
  EXPECT_EQ(Ctl({"dlq", "discard", "--all", "--yes"}).status, 2);  // no --all for discard
  EXPECT_EQ(q_.ListedIds(), ids_);

  const CtlRun run = Ctl({"--json", "dlq", "discard", "--reason", "malformed-json", "--yes"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.Json()["discarded"], 1);
  EXPECT_NE(run.err.find("message_id=" + ids_[1]), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("body=\\x01\\x1B[31mred\\xFF"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(q_.ListedIds(), (std::vector<std::string>{ids_[0], ids_[2]}));

  const CtlRun missing = Ctl({"--json", "dlq", "discard", "gone", "--yes"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.Json()["not_found"], json::array({"gone"}));
  EXPECT_EQ(q_.ListedIds(), (std::vector<std::string>{ids_[0], ids_[2]}));
}

TEST_F(DlqCliTest, MissingQueueUnreachableBrokerAndBadConfig) {
  WriteConfig(q_.target.queue + ".never-declared", q_.target.broker.addresses.at(0).port);
  const CtlRun missing = Ctl({"--json", "dlq", "list"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.Json()["error"]["kind"], "not_found");
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;

  WriteConfig(q_.target.queue, 1);  // nothing listens on port 1
  const CtlRun down = Ctl({"--json", "dlq", "stats"});
  EXPECT_EQ(down.status, 1);
  EXPECT_EQ(down.Json()["error"]["kind"], "unavailable");

  std::ofstream(dir_ / "learning.yaml") << "consumer:\n  queeue: x\n";
  const CtlRun bad = Ctl({"dlq", "list"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("queeue"), std::string::npos) << bad.err;
}

// Two walks at once would hide from each other what each holds unacked ("0 parked"): while
// one runs, the tool says the queue is busy (unavailable, exit 1), and the first is unharmed.
TEST_F(DlqCliTest, AConcurrentWalkIsReportedBusyNotEmpty) {
  ParkThree();
  std::promise<void> holding;
  std::promise<void> release;
  auto released = release.get_future().share();
  amqp::WalkResult first;
  std::thread walker([&] {
    const amqp::QueueBrowser browser(q_.target.broker, q_.target.dead_letter_queue, q_.target.browse);
    first = browser.Walk([&](const amqp::Delivery&, uint64_t position) {
      if (position == 0) {
        holding.set_value();
        released.wait();
      }
      return amqp::Verdict::kKeep;
    });
  });
  ASSERT_EQ(holding.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const CtlRun busy = Ctl({"--json", "dlq", "list"});
  const CtlRun busy_table = Ctl({"dlq", "stats"});
  release.set_value();
  walker.join();
  EXPECT_EQ(busy.status, 1) << busy.out << busy.err;
  EXPECT_EQ(busy.Json()["error"]["kind"], "unavailable") << busy.out;
  EXPECT_NE(busy.err.find("another client is consuming queue"), std::string::npos) << busy.err;
  EXPECT_EQ(busy_table.status, 1) << busy_table.out;
  EXPECT_NE(busy_table.err.find("try again"), std::string::npos) << busy_table.err;
  EXPECT_EQ(first.end, amqp::WalkEnd::kAllSeen) << first.error;
  EXPECT_EQ(first.visited, 3u);
  const CtlRun after = Ctl({"--json", "dlq", "list"});
  ASSERT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(after.Json()["count"], 3);
  EXPECT_EQ(q_.ListedIds(), ids_);
}

}  // namespace
}  // namespace paynotify::ctl::dlq::testing

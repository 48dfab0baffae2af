#include "common/http/server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace paynotify::http {
namespace {

using ::testing::HasSubstr;

// Waits for a condition with a deadline instead of sleeping a fixed time.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Routes().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    server_.Routes().Get("/boom", [](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error("kaput");
    });
  }
  httplib::Client Client() {
    httplib::Client client("127.0.0.1", server_.Port());
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(10));
    return client;
  }

  double RequestCount(const std::string& path, const std::string& status) {
    return registry_
        .GetCounter("paynotify_http_requests_total", "HTTP requests answered, by path and status.",
                    {{"path", path}, {"status", status}})
        .Value();
  }

  metrics::Registry registry_;
  Server server_{ServerSettings{"127.0.0.1", 0, 1024}, registry_};
};

TEST_F(ServerTest, StartsOnAnEphemeralPortAndAnswersHealthz) {
  server_.Start();
  ASSERT_GT(server_.Port(), 0);
  auto client = Client();
  auto res = client.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST_F(ServerTest, MetricsExposeRegisteredCountersAndRequestCounts) {
  registry_.GetCounter("paynotify_test_events_total", "Test events.", {{"kind", "a"}}).Inc(7);
  server_.Start();
  auto client = Client();
  ASSERT_TRUE(client.Get("/healthz"));
  // Requests are counted just after the response is written, so wait for the count.
  ASSERT_TRUE(WaitUntil([&] { return RequestCount("/healthz", "200") == 1; }));
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(res->body, HasSubstr("# TYPE paynotify_test_events_total counter\n"
                                   "paynotify_test_events_total{kind=\"a\"} 7\n"));
  EXPECT_THAT(res->body,
              HasSubstr("paynotify_http_requests_total{path=\"/healthz\",status=\"200\"} 1\n"));
}

TEST_F(ServerTest, ReadyzFollowsTheChecks) {
  std::atomic<bool> db_ok{true};
  server_.AddReadinessCheck("postgres", [&] { return db_ok.load(); });
  server_.AddReadinessCheck("rabbitmq", [] { return true; });
  server_.Start();
  auto client = Client();
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready","checks":{"postgres":true,"rabbitmq":true}})");
  db_ok = false;
  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body,
            R"({"status":"not ready","checks":{"postgres":false,"rabbitmq":true}})");
}

TEST_F(ServerTest, ACheckThatThrowsIsNotReady) {
  server_.AddReadinessCheck("flaky", []() -> bool { throw std::runtime_error("no"); });
  server_.Start();
  auto res = Client().Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, R"({"status":"not ready","checks":{"flaky":false}})");
}

TEST_F(ServerTest, DrainRefusesNewWorkButKeepsProbes) {
  server_.Start();
  auto client = Client();
  auto before = client.Post("/echo", "hi", "text/plain");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  EXPECT_EQ(before->body, "hi");

  server_.BeginDrain();
  auto refused = client.Post("/echo", "hi", "text/plain");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->body, "shutting down");
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, R"({"status":"draining","checks":{}})");
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  server_.Start();
  auto client = Client();
  auto ok = client.Post("/echo", std::string(1024, 'x'), "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto too_big = client.Post("/echo", std::string(1025, 'x'), "text/plain");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
}

TEST_F(ServerTest, HandlerExceptionBecomes500AndUnknownPathsAre404) {
  server_.Start();
  auto client = Client();
  auto boom = client.Get("/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  auto missing = client.Get("/no/such/path");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  ASSERT_TRUE(WaitUntil([&] { return RequestCount("other", "404") == 1; }));
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("paynotify_http_requests_total{path=\"other\",status=\"404\"} 1\n"));
}

TEST_F(ServerTest, StopLetsInFlightHandlersFinish) {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  server_.Routes().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    entered = true;
    WaitUntil([&] { return release.load(); });
    res.set_content("done", "text/plain");
    finished = true;
  });
  server_.Start();
  auto response = std::async(std::launch::async, [this] { return Client().Get("/slow"); });
  ASSERT_TRUE(WaitUntil([&] { return entered.load(); }));
  auto stopper = std::async(std::launch::async, [this] { server_.Stop(); });
  release = true;
  stopper.get();
  EXPECT_TRUE(finished);
  auto res = response.get();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "done");
  // Stopped: new connections are refused, and Stop() is idempotent.
  EXPECT_FALSE(Client().Get("/healthz"));
  server_.Stop();
}

TEST(ServerBindTest, PortInUseThrows) {
  metrics::Registry registry;
  Server first(ServerSettings{"127.0.0.1", 0, 1024}, registry);
  first.Start();
  Server second(ServerSettings{"127.0.0.1", first.Port(), 1024}, registry);
  try {
    second.Start();
    FAIL() << "second Start() on a taken port did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot bind 127.0.0.1:" + std::to_string(first.Port())));
  }
}

}  // namespace
}  // namespace paynotify::http

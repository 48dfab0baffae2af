#include "common/http/server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "common/text/utf8.hpp"
#include "tests/support/raw_http.hpp"

namespace paynotify::http {
namespace {

using ::paynotify::testing::RawExchange;
using ::paynotify::testing::RawGet;
using ::paynotify::testing::RawHttpConnection;
using ::paynotify::testing::RawPost;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

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

ServerSettings SmallLimits() {
  ServerSettings s;
  s.host = "127.0.0.1";
  s.port = 0;
  s.max_body_bytes = 1024;
  return s;
}

Response TextResponse(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { AddRoutes(*server_); }

  void AddRoutes(Server& server) {
    server.Handle("POST", "/echo", [this](const Request& req) {
      ++echo_calls_;
      last_body_size_ = req.body.size();
      return TextResponse(req.body);
    });
    server.Handle("GET", "/boom", [](const Request&) -> Response {
      throw std::runtime_error("kaput\nforged line");
    });
    server.Handle("GET", "/items/{id}", [](const Request& req) {
      return TextResponse("item " + req.path_params.at(0) + " q=" +
                          req.QueryParam("q").value_or("<none>"));
    });
  }

  void Restart(ServerSettings settings) {
    server_ = std::make_unique<Server>(std::move(settings), registry_);
    AddRoutes(*server_);
  }

  int Port() const { return server_->Port(); }

  double RequestCount(const std::string& path, const std::string& status) {
    return registry_
        .GetCounter("paynotify_http_requests_total",
                    "HTTP requests answered, by listener, route and status.",
                    {{"listener", "http"}, {"path", path}, {"status", status}})
        .Value();
  }

  std::string MetricsPage() {
    auto res = RawExchange(Port(), RawGet("/metrics"));
    return res ? res->body : std::string();
  }

  metrics::Registry registry_;
  std::unique_ptr<Server> server_ = std::make_unique<Server>(SmallLimits(), registry_);
  std::atomic<int> echo_calls_{0};
  std::atomic<size_t> last_body_size_{0};
};

TEST_F(ServerTest, StartsOnAnEphemeralPortAndAnswersHealthz) {
  server_->Start();
  ASSERT_GT(Port(), 0);
  auto res = RawExchange(Port(), RawGet("/healthz"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST_F(ServerTest, MetricsExposeRegisteredCountersAndRequestCounts) {
  registry_.GetCounter("paynotify_test_events_total", "Test events.", {{"kind", "a"}}).Inc(7);
  server_->Start();
  ASSERT_TRUE(RawExchange(Port(), RawGet("/healthz")));
  // Requests are counted just after the response is written, so wait for the count.
  ASSERT_TRUE(WaitUntil([&] { return RequestCount("/healthz", "200") == 1; }));
  auto res = RawExchange(Port(), RawGet("/metrics"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->headers["content-type"], HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(res->body, HasSubstr("# TYPE paynotify_test_events_total counter\n"
                                   "paynotify_test_events_total{kind=\"a\"} 7\n"));
  EXPECT_THAT(res->body, HasSubstr("paynotify_http_requests_total{listener=\"http\",path=\"/healthz\","
                                   "status=\"200\"} 1\n"));
}

TEST_F(ServerTest, ReadyzFollowsTheChecks) {
  std::atomic<bool> db_ok{true};
  server_->AddReadinessCheck("postgres", [&] { return db_ok.load(); });
  server_->AddReadinessCheck("rabbitmq", [] { return true; });
  server_->Start();
  auto ready = RawExchange(Port(), RawGet("/readyz"));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready","checks":{"postgres":true,"rabbitmq":true}})");
  db_ok = false;
  auto not_ready = RawExchange(Port(), RawGet("/readyz"));
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body,
            R"({"status":"not ready","checks":{"postgres":false,"rabbitmq":true}})");
}

TEST_F(ServerTest, ACheckThatThrowsIsNotReady) {
  server_->AddReadinessCheck("flaky", []() -> bool { throw std::runtime_error("no"); });
  server_->Start();
  auto res = RawExchange(Port(), RawGet("/readyz"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, R"({"status":"not ready","checks":{"flaky":false}})");
}

// Details inform and never decide: the status follows the checks alone; a detail that throws
// is null; names the body uses itself are refused.
TEST_F(ServerTest, ReadinessDetailsAreReportedButNeverChangeTheStatus) {
  std::atomic<bool> db_ok{true};
  std::atomic<int> backlog{0};
  server_->AddReadinessCheck("database", [&] { return db_ok.load(); });
  server_->AddReadinessDetail("flow", [&] {
    nlohmann::ordered_json flow;
    flow["pending"] = backlog.load();
    return flow;
  });
  server_->AddReadinessDetail("broken", []() -> nlohmann::ordered_json { throw std::runtime_error("no"); });
  EXPECT_THROW(server_->AddReadinessDetail("status", [] { return nlohmann::ordered_json(1); }), std::logic_error);
  EXPECT_THROW(server_->AddReadinessDetail("checks", [] { return nlohmann::ordered_json(1); }), std::logic_error);
  EXPECT_THROW(server_->AddReadinessDetail("flow", [] { return nlohmann::ordered_json(1); }), std::logic_error);
  server_->Start();
  backlog = 100000;
  auto ready = RawExchange(Port(), RawGet("/readyz"));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready","checks":{"database":true},"flow":{"pending":100000},"broken":null})");
  db_ok = false;
  backlog = 0;
  auto not_ready = RawExchange(Port(), RawGet("/readyz"));
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body,
            R"({"status":"not ready","checks":{"database":false},"flow":{"pending":0},"broken":null})");
}

// Each check is a gauge too, evaluated when /metrics is scraped (no /readyz needed).
TEST_F(ServerTest, ReadinessChecksAreGaugesFreshAtEachScrape) {
  std::atomic<bool> broker_ok{false};
  server_->AddReadinessCheck("broker", [&] { return broker_ok.load(); });
  server_->Start();
  auto down = RawExchange(Port(), RawGet("/metrics"));
  ASSERT_TRUE(down);
  EXPECT_THAT(down->body, HasSubstr("paynotify_readiness_check{check=\"broker\",listener=\"http\"} 0\n"));
  broker_ok = true;
  auto up = RawExchange(Port(), RawGet("/metrics"));
  ASSERT_TRUE(up);
  EXPECT_THAT(up->body, HasSubstr("paynotify_readiness_check{check=\"broker\",listener=\"http\"} 1\n"));
}

TEST_F(ServerTest, WithoutOperatorEndpointsOnlyHealthzIsServed) {
  ServerSettings settings = SmallLimits();
  settings.operator_endpoints = false;
  Restart(settings);
  server_->Start();
  EXPECT_EQ(RawExchange(Port(), RawGet("/healthz"))->status, 200);
  EXPECT_EQ(RawExchange(Port(), RawGet("/readyz"))->status, 404);
  EXPECT_EQ(RawExchange(Port(), RawGet("/metrics"))->status, 404);
}

TEST_F(ServerTest, DrainRefusesNewWorkButKeepsProbes) {
  server_->Start();
  auto before = RawExchange(Port(), RawPost("/echo", "hi"));
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  EXPECT_EQ(before->body, "hi");

  server_->BeginDrain();
  auto refused = RawExchange(Port(), RawPost("/echo", "hi"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->body, "shutting down");
  auto ready = RawExchange(Port(), RawGet("/readyz"));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, R"({"status":"draining","checks":{}})");
  auto health = RawExchange(Port(), RawGet("/healthz"));
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  server_->Start();
  auto ok = RawExchange(Port(), RawPost("/echo", std::string(1024, 'x')));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto too_big = RawExchange(Port(), RawPost("/echo", std::string(1025, 'x')));
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(echo_calls_.load(), 1);
}

// Issue 10: the limit held only for bodies with a Content-Length.
TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413AndNeverReachesTheHandler) {
  server_->Start();
  RawHttpConnection connection(Port());
  ASSERT_TRUE(connection.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "400\r\n" + std::string(0x400, 'x') + "\r\n";
  bool closed_early = false;
  for (int i = 0; i < 2048 && !closed_early; ++i) {  // up to 2 MiB
    closed_early = !connection.Send(chunk);
  }
  if (!closed_early) connection.Send("0\r\n\r\n");
  auto res = connection.Read(5s);
  ASSERT_TRUE(res) << "no answer to an oversized chunked body";
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ServerTest, ChunkedBodyWithinTheLimitIsAccepted) {
  server_->Start();
  auto res = RawExchange(Port(), "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello world");
}

// A request without Content-Length or chunked framing has no body (RFC 9112 §6.3): the
// server must not read to EOF. What follows is parsed as the next request and refused.
TEST_F(ServerTest, BodyWithoutLengthIsNeverBuffered) {
  server_->Start();
  RawHttpConnection connection(Port());
  ASSERT_TRUE(connection.Send("POST /echo HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto first = connection.Read(5s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "");
  std::string junk(2 * 1024 * 1024, 'x');
  connection.Send(junk);  // may fail half-way once the server closes: that is the point
  EXPECT_TRUE(connection.ClosedByPeerWithin(5s));
  EXPECT_EQ(last_body_size_.load(), 0u);
}

// Nothing is inflated: a small gzip body cannot become a large one inside the server.
TEST_F(ServerTest, CompressedBodyIs415) {
  server_->Start();
  auto res = RawExchange(Port(), RawPost("/echo", std::string(100, '\x1f'), "Content-Encoding: gzip\r\n"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  server_->Start();
  auto res = RawExchange(Port(), RawGet("/healthz", "X-Big: " + std::string(32 * 1024, 'a') + "\r\n"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 431);
}

TEST_F(ServerTest, MalformedRequestIs400AndClosed) {
  server_->Start();
  RawHttpConnection connection(Port());
  ASSERT_TRUE(connection.Send("GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n"));
  auto res = connection.Read(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(connection.ClosedByPeerWithin(5s));
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  server_->Start();
  RawHttpConnection connection(Port());
  ASSERT_TRUE(connection.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                              "Expect: 100-continue\r\n\r\n"));
  auto go_on = connection.Read(5s);
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(connection.Send("abc"));
  auto res = connection.Read(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "abc");
}

TEST_F(ServerTest, HandlerExceptionBecomes500WithoutItsTextAndUnknownPathsAre404) {
  server_->Start();
  auto boom = RawExchange(Port(), RawGet("/boom"));
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(boom->body, "internal error");
  auto missing = RawExchange(Port(), RawGet("/no/such/path"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  ASSERT_TRUE(WaitUntil([&] { return RequestCount("other", "404") == 1; }));
}

TEST_F(ServerTest, PathAndQueryParametersArePercentDecoded) {
  server_->Start();
  auto res = RawExchange(Port(), RawGet("/items/a%20b?x=1&q=caf%C3%A9+au+lait"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "item a b q=caf\xC3\xA9 au lait");
}

TEST_F(ServerTest, KnownPathWithAnotherMethodIs405) {
  server_->Start();
  auto res = RawExchange(Port(), "TRACE /items/1 HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
}

// Issue 10: one series per distinct raw path, and invalid UTF-8 from %FF in the page.
TEST_F(ServerTest, MetricLabelsComeOnlyFromRouteTemplates) {
  server_->Start();
  for (const char* target : {"/items/1", "/items/%FF%FE", "/items/x\xff", "/nope/%FF",
                             "/items/1/2", "/%0Aforged"}) {
    ASSERT_TRUE(RawExchange(Port(), RawGet(target))) << target;
  }
  ASSERT_TRUE(RawExchange(Port(), "TRACE /items/9 HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(RawExchange(Port(), RawPost("/echo", std::string(2000, 'x'))));  // 413
  ASSERT_TRUE(WaitUntil([&] { return RequestCount("other", "413") == 1; }));
  const std::string page = MetricsPage();
  EXPECT_TRUE(text::IsValidUtf8(page));
  std::set<std::string> paths;
  for (size_t at = page.find("path=\""); at != std::string::npos; at = page.find("path=\"", at + 1)) {
    const size_t end = page.find('"', at + 6);
    paths.insert(page.substr(at + 6, end - at - 6));
  }
  const std::set<std::string> allowed{"/items/{id}", "other", "/metrics", "/echo"};
  for (const auto& path : paths) EXPECT_TRUE(allowed.count(path)) << "label path=" << path;
  EXPECT_TRUE(paths.count("/items/{id}") && paths.count("other")) << page;
}

TEST_F(ServerTest, StopLetsInFlightHandlersFinish) {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  server_->Handle("GET", "/slow", [&](const Request&) {
    entered = true;
    WaitUntil([&] { return release.load(); });
    finished = true;
    return TextResponse("done");
  });
  server_->Start();
  const int port = Port();
  auto response = std::async(std::launch::async, [port] { return RawExchange(port, RawGet("/slow")); });
  ASSERT_TRUE(WaitUntil([&] { return entered.load(); }));
  auto stopper = std::async(std::launch::async, [this] { server_->Stop(); });
  release = true;
  stopper.get();
  EXPECT_TRUE(finished);
  auto res = response.get();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "done");
  // Stopped: new connections are refused, and Stop() is idempotent.
  EXPECT_THROW(RawHttpConnection{port}, std::runtime_error);
  server_->Stop();
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnections) {
  server_->Start();
  RawHttpConnection idle(Port());
  ASSERT_TRUE(idle.Send(RawGet("/healthz")));
  ASSERT_TRUE(idle.Read(5s));
  server_->Stop();
  EXPECT_TRUE(idle.ClosedByPeerWithin(2s));
}

// Issue 10: 12 trickling clients kept /healthz unanswered for 2.5 s with cpp-httplib.
TEST_F(ServerTest, FiftySlowAndIdleClientsDoNotDelayHealthzOrARealRequest) {
  server_->Start();
  std::vector<std::unique_ptr<RawHttpConnection>> slow;
  for (int i = 0; i < 25; ++i) {
    slow.push_back(std::make_unique<RawHttpConnection>(Port()));
    ASSERT_TRUE(slow.back()->Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  }
  for (int i = 0; i < 25; ++i) slow.push_back(std::make_unique<RawHttpConnection>(Port()));  // idle
  std::atomic<bool> trickling{true};
  std::thread trickler([&] {
    while (trickling) {
      for (int i = 0; i < 25; ++i) slow[i]->Send("x");
      std::this_thread::sleep_for(100ms);
    }
  });
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto health = RawExchange(Port(), RawGet("/healthz"), 1s);
    auto echo = RawExchange(Port(), RawPost("/echo", "real"), 1s);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(health && health->status == 200);
    ASSERT_TRUE(echo && echo->status == 200 && echo->body == "real");
    EXPECT_LT(took, 1s);
  }
  trickling = false;
  trickler.join();
}

TEST_F(ServerTest, SlowClientIsCutOffAtTheRequestDeadline) {
  ServerSettings settings = SmallLimits();
  settings.request_timeout = 300ms;
  Restart(settings);
  server_->Start();
  RawHttpConnection slow(Port());
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  // One byte every 50 ms resets no per-read timer: the deadline covers the whole request.
  for (int i = 0; i < 60 && !closed; ++i) {
    closed = !slow.Send("P") || slow.ClosedByPeerWithin(50ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitAreRefusedAtOnce) {
  ServerSettings settings = SmallLimits();
  settings.max_connections = 4;
  Restart(settings);
  server_->Start();
  std::vector<std::unique_ptr<RawHttpConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawHttpConnection>(Port()));
    ASSERT_TRUE(held.back()->Send(RawGet("/healthz")));  // proves each is accepted
    ASSERT_TRUE(held.back()->Read(5s));
  }
  auto refused = RawExchange(Port(), RawGet("/healthz"), 2s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(registry_.GetCounter("paynotify_http_connections_refused_total", "", {{"listener", "http"}})
                .Value(),
            1);  // counted before the answer is written
  held.clear();  // closing them frees the places
  ASSERT_TRUE(WaitUntil([&] {
    auto res = RawExchange(Port(), RawGet("/healthz"), 2s);
    return res && res->status == 200;
  }));
}

TEST_F(ServerTest, HandlerQueueIsBoundedAndExcessIs503) {
  ServerSettings settings = SmallLimits();
  settings.worker_threads = 1;
  settings.max_queued_requests = 1;
  Restart(settings);
  std::atomic<bool> release{false};
  std::atomic<int> entered{0};
  server_->Handle("GET", "/block", [&](const Request&) {
    ++entered;
    WaitUntil([&] { return release.load(); });
    return TextResponse("done");
  });
  server_->Start();
  const int port = Port();
  auto first = std::async(std::launch::async, [port] { return RawExchange(port, RawGet("/block")); });
  ASSERT_TRUE(WaitUntil([&] { return entered.load() == 1; }));
  auto second = std::async(std::launch::async, [port] { return RawExchange(port, RawGet("/block")); });
  auto& busy = registry_.GetGauge("paynotify_http_handler_requests", "", {{"listener", "http"}});
  ASSERT_TRUE(WaitUntil([&] { return busy.Value() == 2; }));
  // The second waits in the queue; a third finds it full and is told so at once.
  const auto third = RawExchange(port, RawGet("/block"), 2s);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 503);
  EXPECT_EQ(third->headers.at("retry-after"), "1");
  EXPECT_EQ(RawExchange(port, RawGet("/healthz"), 1s)->status, 200);  // probes never queue
  release = true;
  EXPECT_EQ(first.get()->status, 200);
  EXPECT_EQ(second.get()->status, 200);
}

TEST(ServerBindTest, PortInUseThrows) {
  metrics::Registry registry;
  Server first(SmallLimits(), registry);
  first.Start();
  ServerSettings taken = SmallLimits();
  taken.port = first.Port();
  Server second(taken, registry);
  try {
    second.Start();
    FAIL() << "second Start() on a taken port did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot bind 127.0.0.1:" + std::to_string(first.Port())));
  }
}

TEST(ServerRouteTest, RoutesCannotBeAddedAfterStart) {
  metrics::Registry registry;
  Server server(SmallLimits(), registry);
  server.Start();
  EXPECT_THROW(server.Handle("GET", "/late", [](const Request&) { return Response{}; }),
               std::logic_error);
  EXPECT_THROW(Server(SmallLimits(), registry).Handle("GET", "nolead", [](const Request&) { return Response{}; }),
               std::logic_error);
}

}  // namespace
}  // namespace paynotify::http

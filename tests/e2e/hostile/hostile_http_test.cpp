// Issue 10, proven against the real daemons: order-service and learning-service run as
// processes (PaySystem), and every request here goes over a real socket, most of them through
// a raw client that sends what no polite client would. Each finding of the issue's §1 that
// lives at the HTTP level has a case here; the properties of §2 (bounded memory, slow clients,
// valid /metrics, 4xx for bad input, escaped logs, the trust boundary) too.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/text/utf8.hpp"
#include "tests/e2e/harness/pay_system.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/test_env.hpp"

namespace paynotify::e2e {
namespace {

namespace t = paynotify::testing;
using t::RawExchange;
using t::RawGet;
using t::RawHttpConnection;
using t::RawPost;
using namespace std::chrono_literals;

constexpr const char* kForm = "application/x-www-form-urlencoded";

class HostileHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    system_ = new PaySystem("hostile");
    system_->StartAll();
    selections_ = new std::vector<int64_t>(system_->CreateSelections(4));
    pay_nos_ = new std::vector<int64_t>(system_->CreateOrders(*selections_, 2));
  }
  static void TearDownTestSuite() {
    delete pay_nos_;
    delete selections_;
    delete system_;
  }
  void TearDown() override {
    // Whatever a case sent, both daemons must still be alive and answering.
    EXPECT_EQ(RawExchange(PublicPort(), RawGet("/healthz"), 2s).value_or(t::RawResponse{}).status, 200)
        << system_->LogTails();
    EXPECT_EQ(RawExchange(system_->LearningPort(0), RawGet("/healthz"), 2s).value_or(t::RawResponse{}).status, 200)
        << system_->LogTails();
  }

  static int PublicPort() { return system_->OrderPort(0); }
  static int InternalPort() { return system_->OrderInternalPort(0); }
  static std::string Auth() { return "Authorization: Bearer " + system_->ApiToken() + "\r\n"; }

  static int Status(int port, const std::string& request) {
    auto res = RawExchange(port, request, 10s);
    return res ? res->status : -1;
  }

  static std::string OrderJson(const std::string& out_business_id, const std::string& detail = "[]") {
    return R"({"userId":"hostile-user","outBusinessId":")" + out_business_id +
           R"(","orderType":"60201","orderName":"x","totalPrice":"9.90","orderDetail":)" + detail + "}";
  }

  static std::string OrderScalar(const std::string& sql) {
    pqxx::connection conn(t::PgConnString(t::OrdersDb()));
    pqxx::work tx(conn);
    const auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
  }

  static PaySystem* system_;
  static std::vector<int64_t>* selections_;
  static std::vector<int64_t>* pay_nos_;
};

PaySystem* HostileHttp::system_ = nullptr;
std::vector<int64_t>* HostileHttp::selections_ = nullptr;
std::vector<int64_t>* HostileHttp::pay_nos_ = nullptr;

// §1 "Remote crash": orderDetail nested 150,000 arrays deep, chunked, killed order-service.
TEST_F(HostileHttp, DeeplyNestedOrderDetailIsRefusedNotACrash) {
  const std::string deep = std::string(150000, '[') + std::string(150000, ']');
  const std::string body = OrderJson("deep-1", deep);
  std::string chunked = "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + Auth() +
                        "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += 4096) {
    const std::string part = body.substr(at, 4096);
    std::ostringstream size;
    size << std::hex << part.size();
    chunked += size.str() + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  EXPECT_EQ(Status(InternalPort(), chunked), 413);  // 300 KB: over the body limit, never parsed
  // Within the body limit, the depth cap answers before anything recurses.
  const std::string fits = std::string(30000, '[') + std::string(30000, ']');
  auto res = RawExchange(InternalPort(), RawPost("/orders", OrderJson("deep-2", fits), Auth(), "application/json"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("orderDetail"), std::string::npos) << res->body;
}

// §1 "Body limits bypassed" and §2 "memory stays bounded": chunked, length-less and gzip
// bodies of 2 MiB, many times over; the daemon's RSS is read from /proc meanwhile.
TEST_F(HostileHttp, OversizedBodiesOfEveryFramingAreRefusedAndMemoryStaysBounded) {
  const pid_t pid = system_->OrderPid(0);
  const long rss_before = t::RssKiB(pid);
  ASSERT_GT(rss_before, 0);
  long rss_peak = rss_before;
  const std::string two_mib(2 * 1024 * 1024, 'a');
  for (int round = 0; round < 10; ++round) {
    {  // chunked
      RawHttpConnection c(PublicPort());
      c.Send(std::string("POST /orders/paynotify HTTP/1.1\r\nHost: t\r\nContent-Type: ") + kForm +
             "\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 32; ++i) {
        if (!c.Send("10000\r\n" + std::string(0x10000, 'a') + "\r\n")) break;
      }
      c.Send("0\r\n\r\n");
      auto res = c.Read(10s);
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 413);
    }
    {  // no length at all: the body is empty by definition, what follows is a bad request
      RawHttpConnection c(PublicPort());
      c.Send(std::string("POST /orders/paynotify HTTP/1.1\r\nHost: t\r\nContent-Type: ") + kForm + "\r\n\r\n");
      auto res = c.Read(10s);  // answered at once: an empty form is a bad notification
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status / 100, 4);
      c.Send(two_mib);  // read as the next request's header: refused, connection closed
      EXPECT_TRUE(c.ClosedByPeerWithin(10s));
    }
    {  // 2 KB of gzip that would inflate to 2 MiB: nothing is inflated
      auto res = RawExchange(PublicPort(), RawPost("/orders/paynotify", std::string(2048, '\x1f'),
                                                   "Content-Encoding: gzip\r\n"));
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 415);
    }
    {  // an honest Content-Length over the limit is refused before the body is read
      auto res = RawExchange(PublicPort(), RawPost("/orders/paynotify", two_mib));
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 413);
    }
    rss_peak = std::max(rss_peak, t::RssKiB(pid));
  }
  // 40 bodies of 2 MiB went by: buffering any of them whole would show.
  EXPECT_LT(rss_peak - rss_before, 16 * 1024) << "RSS grew from " << rss_before << " to " << rss_peak << " KiB";
  std::cout << "hostile: order-service RSS " << rss_before << " KiB before, peak " << rss_peak
            << " KiB during 40 oversized bodies\n";
}

// §1 "Slow clients starve everyone" / §2: 50 slow or idle connections do not delay /healthz
// or a real notification beyond 1 s.
TEST_F(HostileHttp, FiftySlowAndIdleConnectionsDelayNeitherHealthzNorARealNotification) {
  std::vector<std::unique_ptr<RawHttpConnection>> held;
  for (int i = 0; i < 25; ++i) {
    held.push_back(std::make_unique<RawHttpConnection>(PublicPort()));
    held.back()->Send(std::string("POST /orders/paynotify HTTP/1.1\r\nHost: t\r\nContent-Type: ") + kForm +
                      "\r\nContent-Length: 60000\r\n\r\n");
  }
  for (int i = 0; i < 25; ++i) held.push_back(std::make_unique<RawHttpConnection>(PublicPort()));
  std::atomic<bool> trickling{true};
  std::thread trickler([&] {
    while (trickling) {
      for (int i = 0; i < 25; ++i) held[i]->Send("a");
      std::this_thread::sleep_for(200ms);
    }
  });
  std::this_thread::sleep_for(500ms);  // let them settle in: this is the state under test
  const auto start = std::chrono::steady_clock::now();
  auto health = RawExchange(PublicPort(), RawGet("/healthz"), 1s);
  const auto health_took = std::chrono::steady_clock::now() - start;
  auto notify = RawExchange(PublicPort(), RawPost("/orders/paynotify", system_->SignedNotification(pay_nos_->at(0))), 1s);
  const auto notify_took = std::chrono::steady_clock::now() - start - health_took;
  trickling = false;
  trickler.join();
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  ASSERT_TRUE(notify) << "notification not answered within 1 s";
  EXPECT_EQ(notify->status, 200);
  EXPECT_EQ(notify->body, "success");
  EXPECT_LT(health_took, 1s);
  EXPECT_LT(notify_took, 1s);
}

// §1 "Unbounded metrics": raw paths as label values, and %FF making the page invalid UTF-8.
TEST_F(HostileHttp, MetricsStayBoundedAndValidWhateverThePaths) {
  for (int i = 0; i < 50; ++i) {
    Status(system_->LearningPort(0), RawGet("/choosecourse/" + std::to_string(1000000 + i) + "x"));
    Status(PublicPort(), RawGet("/scan/" + std::to_string(i) + "/%FF%FE"));
  }
  Status(system_->LearningPort(0), RawGet("/choosecourse/%FF%FE"));
  Status(PublicPort(), "TRACE /orders/paynotify HTTP/1.1\r\nHost: t\r\n\r\n");
  Status(PublicPort(), RawPost("/orders/paynotify", std::string(70000, 'a')));  // 413
  for (const auto& [order, name] : {std::pair{true, "order-service"}, std::pair{false, "learning-service"}}) {
    const std::string page = system_->Metrics(order, 0);
    ASSERT_FALSE(page.empty()) << name;
    EXPECT_TRUE(text::IsValidUtf8(page)) << name;
    std::set<std::string> paths;
    std::regex label(R"re(paynotify_http_requests_total\{[^}]*path="([^"]*)")re");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), label); it != std::sregex_iterator(); ++it) {
      paths.insert((*it)[1]);
    }
    const std::set<std::string> allowed{"/healthz", "/readyz", "/metrics", "other", "/orders/paynotify",
                                        "/orders", "/orders/payresult", "/choosecourse/{id}", "/coursetables"};
    for (const auto& path : paths) EXPECT_TRUE(allowed.count(path)) << name << ": label path=" << path;
  }
}

// §1 "500 for bad input": each of these answered 500 at 5d3aaac.
TEST_F(HostileHttp, BadInputIsA4xxNeverA5xx) {
  EXPECT_EQ(Status(InternalPort(), RawGet("/orders/payresult?payNo=%FF%FE", Auth())), 400);
  EXPECT_EQ(Status(system_->LearningPort(0), RawGet("/choosecourse/%FF%FE")), 400);
  EXPECT_EQ(Status(system_->LearningPort(0), RawGet("/coursetables?userId=%FF")), 400);
  const int bad_content_type = Status(
      InternalPort(), RawPost("/orders", OrderJson("ct-1"), Auth(), "application/json\xff"));
  EXPECT_GE(bad_content_type, 400);
  EXPECT_LT(bad_content_type, 500);
  // Correctly signed, but trade_no is not UTF-8: it can never be stored, so retrying is useless.
  auto res = RawExchange(PublicPort(), RawPost("/orders/paynotify",
                                               system_->SignedNotification(pay_nos_->at(1), {{"trade_no", "T\xff\xfe"}})));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("trade_no"), std::string::npos) << res->body;
}

// §1 "Form bodies over 8 KiB are refused 413 by the library, not at the documented 64 KiB".
TEST_F(HostileHttp, FormBodiesUpTo64KiBReachTheIntake) {
  std::string form = "a=" + std::string(15000, 'x') + "&b=" + std::string(15000, 'y') +
                     "&c=" + std::string(15000, 'z') + "&d=" + std::string(15000, 'w');
  ASSERT_GT(form.size(), 59000u);
  ASSERT_LT(form.size(), 65536u);
  auto res = RawExchange(PublicPort(), RawPost("/orders/paynotify", form));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << "judged by the intake (unsigned form), not refused for its size: " << res->body;
}

// §1 "Log injection": an echoed sign_type with a newline forged a log line.
TEST_F(HostileHttp, ValuesFromARequestCannotForgeALogLine) {
  const std::string forged = "2026-01-01T00:00:00.000Z info     intake: FORGED-BY-TEST";
  const std::string form = "sign_type=RSA2%0A" + std::string("2026-01-01T00:00:00.000Z%20info%20%20%20%20%20intake:%20FORGED-BY-TEST") +
                           "&sign=abc&out_trade_no=1&app_id=x";
  ASSERT_EQ(Status(PublicPort(), RawPost("/orders/paynotify", form)), 400);
  ASSERT_TRUE(t::WaitFor([&] { return system_->Log(true, 0).find("FORGED-BY-TEST") != std::string::npos; }, 5s))
      << "the rejected value should be logged (escaped)";
  std::istringstream log(system_->Log(true, 0));
  std::string line;
  while (std::getline(log, line)) EXPECT_NE(line.rfind(forged, 0), 0u) << "forged line in the log: " << line;
}

// §1 "JSON ambiguities": a NUL inside outBusinessId, and a duplicated key.
TEST_F(HostileHttp, JsonWithTwoMeaningsIsRefused) {
  EXPECT_EQ(Status(InternalPort(), RawPost("/orders", OrderJson("nul\\u0000id"), Auth(), "application/json")), 400);
  const std::string duplicated = R"({"userId":"u","outBusinessId":"dup-1","orderType":"60201","orderName":"x",)"
                                 R"("totalPrice":"9.90","totalPrice":"0.01","orderDetail":[]})";
  EXPECT_EQ(Status(InternalPort(), RawPost("/orders", duplicated, Auth(), "application/json")), 400);
}

// §2 trust boundary: the internet-facing listener serves the notification and /healthz
// only; the order API wants a bearer token.
TEST_F(HostileHttp, PublicListenerServesOnlyTheNotificationAndTheOrderApiNeedsAToken) {
  EXPECT_EQ(Status(PublicPort(), RawPost("/orders", OrderJson("pub-1"), "", "application/json")), 404);
  EXPECT_EQ(Status(PublicPort(), RawGet("/orders/payresult?payNo=1")), 404);
  EXPECT_EQ(Status(PublicPort(), RawGet("/metrics")), 404);
  EXPECT_EQ(Status(PublicPort(), RawGet("/readyz")), 404);
  EXPECT_EQ(Status(InternalPort(), RawPost("/orders", OrderJson("int-1"), "", "application/json")), 401);
  EXPECT_EQ(Status(InternalPort(), RawPost("/orders", OrderJson("int-1"), "Authorization: Bearer wrong\r\n",
                                           "application/json")),
            401);
  EXPECT_EQ(Status(InternalPort(), RawGet("/orders/payresult?payNo=" + std::to_string(pay_nos_->at(2)))), 401);
  EXPECT_EQ(Status(InternalPort(), RawGet("/orders/payresult?payNo=" + std::to_string(pay_nos_->at(2)), Auth())), 200);
  EXPECT_EQ(Status(InternalPort(), RawGet("/readyz")), 200);
}

// §1 "A second payment for a paid order vanishes".
TEST_F(HostileHttp, ASecondPaymentForAPaidOrderIsRecordedAndStillAnsweredSuccess) {
  const int64_t pay_no = pay_nos_->at(3);
  auto first = RawExchange(PublicPort(), RawPost("/orders/paynotify", system_->SignedNotification(pay_no)));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->body, "success");
  auto second = RawExchange(PublicPort(), RawPost("/orders/paynotify",
                                                  system_->SignedNotification(pay_no, {{"trade_no", "SECOND-" + std::to_string(pay_no)}})));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "success");
  EXPECT_EQ(OrderScalar("SELECT count(*) FROM xc_pay_conflict WHERE pay_no = " + std::to_string(pay_no) +
                        " AND trade_no = 'SECOND-" + std::to_string(pay_no) + "'"),
            "1");
  EXPECT_GE(MetricValue(system_->Metrics(true, 0), "paynotify_notifications_pay_conflict_total"), 1);
  EXPECT_NE(system_->Log(true, 0).find("SECOND-" + std::to_string(pay_no)), std::string::npos);
}

}  // namespace
}  // namespace paynotify::e2e

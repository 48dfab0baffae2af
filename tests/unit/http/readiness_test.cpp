// The /readyz body: fixed keys first, details after, any JSON as a detail value, invalid
// UTF-8 replaced rather than sent.
#include "common/http/readiness.hpp"

#include <gtest/gtest.h>

namespace paynotify::http {
namespace {

TEST(ReadinessBody, StatusThenChecksInTheirOrder) {
  EXPECT_EQ(ReadinessBody("ready", {{"postgres", true}, {"broker", true}}, {}),
            R"({"status":"ready","checks":{"postgres":true,"broker":true}})");
  EXPECT_EQ(ReadinessBody("draining", {}, {}), R"({"status":"draining","checks":{}})");
}

TEST(ReadinessBody, DetailsFollowInTheirOrderWithTheirOwnFieldOrder) {
  nlohmann::ordered_json flow;
  flow["pending"] = 12;
  flow["oldest_age_seconds"] = 3.5;
  flow["parked"] = nullptr;  // unknown is null, not 0
  ReadinessDetails details{{"flow", flow}, {"note", "x"}};
  EXPECT_EQ(ReadinessBody("not ready", {{"broker", false}}, details),
            R"({"status":"not ready","checks":{"broker":false},)"
            R"("flow":{"pending":12,"oldest_age_seconds":3.5,"parked":null},"note":"x"})");
}

TEST(ReadinessBody, ADetailCannotReplaceTheFixedKeys) {
  ReadinessDetails details{{"status", "hijacked"}, {"checks", nullptr}, {"flow", 1}};
  const auto body = nlohmann::json::parse(ReadinessBody("ready", {{"db", true}}, details));
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["checks"], nlohmann::json({{"db", true}}));
  EXPECT_EQ(body["flow"], 1);
}

TEST(ReadinessBody, InvalidUtf8IsReplacedNotSent) {
  ReadinessDetails details{{"queue", std::string("q\xff\xfe")}};
  const std::string body = ReadinessBody("ready", {}, details);
  EXPECT_EQ(body.find('\xff'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(body)["queue"], "q\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace paynotify::http

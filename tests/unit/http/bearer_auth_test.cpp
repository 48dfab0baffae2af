#include "common/http/bearer_auth.hpp"

#include <gtest/gtest.h>

namespace paynotify::http {
namespace {

Request WithAuthorization(std::string value) {
  Request request;
  request.headers.emplace_back("authorization", std::move(value));
  return request;
}

TEST(BearerAuth, AcceptsEveryConfiguredTokenAndNothingElse) {
  const BearerAuth auth({"old-token", "new-token"});
  EXPECT_TRUE(auth.Allows(WithAuthorization("Bearer old-token")));
  EXPECT_TRUE(auth.Allows(WithAuthorization("bearer new-token")));  // scheme is case-insensitive
  EXPECT_FALSE(auth.Allows(WithAuthorization("Bearer new-toke")));
  EXPECT_FALSE(auth.Allows(WithAuthorization("Bearer new-token ")));
  EXPECT_FALSE(auth.Allows(WithAuthorization("Basic bmV3LXRva2Vu")));
  EXPECT_FALSE(auth.Allows(WithAuthorization("Bearer ")));
  EXPECT_FALSE(auth.Allows(WithAuthorization("new-token")));
  EXPECT_FALSE(auth.Allows(Request{}));
}

TEST(BearerAuth, ProtectAnswers401WithoutCallingTheHandler) {
  const BearerAuth auth({"secret"});
  int calls = 0;
  const Handler protected_handler = auth.Protect([&](const Request&) {
    ++calls;
    return Response{};
  });
  const Response denied = protected_handler(WithAuthorization("Bearer wrong"));
  EXPECT_EQ(denied.status, 401);
  ASSERT_EQ(denied.headers.size(), 1u);
  EXPECT_EQ(denied.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(denied.body.find("secret"), std::string::npos);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(protected_handler(WithAuthorization("Bearer secret")).status, 200);
  EXPECT_EQ(calls, 1);
}

TEST(BearerAuth, RefusesAnEmptyConfiguration) {
  EXPECT_THROW(BearerAuth({}), std::invalid_argument);
  EXPECT_THROW(BearerAuth({"ok", ""}), std::invalid_argument);
}

TEST(SplitTokens, SplitsOnCommasAndWhiteSpace) {
  EXPECT_EQ(SplitTokens(" a, b\nc\t,,d\n"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(SplitTokens(" , \n").empty());
}

}  // namespace
}  // namespace paynotify::http

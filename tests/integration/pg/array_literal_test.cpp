// The literal's whole point is that PostgreSQL reads back exactly what we wrote: checked on
// the real server with the texts that break naive formatting.
#include "common/pg/array_literal.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "tests/integration/pg/pg_test_env.hpp"

namespace paynotify::pg {
namespace {

TEST(ArrayLiteral, EveryTextRoundTripsThroughTheServerUnchanged) {
  const std::vector<std::string> texts{"plain",  "a,b",        "{braces}", "say \"hi\"", "back\\slash", "",
                                       "NULL",   " padded ",   "new\nline", "payresult_notify:42",
                                       "\xE8\xAF\xBE\xE7\xA8\x8B" /* UTF-8 */};
  auto conn = testing::Admin();
  pqxx::nontransaction tx(*conn);
  const pqxx::result r = tx.exec_params(
      "SELECT t, t IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n", ArrayLiteral(texts));
  ASSERT_EQ(r.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_FALSE(r[i][1].as<bool>()) << "element " << i << " became NULL";
    EXPECT_EQ(r[i][0].as<std::string>(), texts[i]) << "element " << i;
  }
}

TEST(ArrayLiteral, BigintsRoundTripThroughTheServer) {
  const std::vector<int64_t> ids{1, -2, 9223372036854775807};
  auto conn = testing::Admin();
  pqxx::nontransaction tx(*conn);
  const pqxx::result r =
      tx.exec_params("SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS u(v, n) ORDER BY n", ArrayLiteral(ids));
  ASSERT_EQ(r.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(r[i][0].as<int64_t>(), ids[i]);
}

}  // namespace
}  // namespace paynotify::pg

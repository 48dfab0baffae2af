#include "common/pg/array_literal.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace paynotify::pg {
namespace {

TEST(ArrayLiteral, BigintsAreCommaSeparatedInBraces) {
  const std::vector<int64_t> ids{1, -2, 9223372036854775807};
  EXPECT_EQ(ArrayLiteral(ids), "{1,-2,9223372036854775807}");
  EXPECT_EQ(ArrayLiteral(std::span<const int64_t>{}), "{}");
}

TEST(ArrayLiteral, TextIsQuotedWithQuotesAndBackslashesEscaped) {
  const std::vector<std::string> keys{"plain", "a,b", "say \"hi\"", "back\\slash", "", "NULL"};
  EXPECT_EQ(ArrayLiteral(keys), R"({"plain","a,b","say \"hi\"","back\\slash","","NULL"})");
  EXPECT_EQ(ArrayLiteral(std::span<const std::string>{}), "{}");
}

}  // namespace
}  // namespace paynotify::pg

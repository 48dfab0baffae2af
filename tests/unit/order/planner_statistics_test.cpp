// The rule PgOutboxStore uses to decide that the planner's picture of mq_message is too old
// to plan a claim over (planner_statistics.hpp; the store's checks are in
// tests/integration/order/outbox_parking_it_test.cpp).
#include "order-service/outbox/planner_statistics.hpp"

#include <gtest/gtest.h>

namespace paynotify::order {
namespace {

TEST(PlannerStatistics, TheEstimateScalesTheLastDensityToTheCurrentPages) {
  EXPECT_EQ(PlannerRowEstimate({.reltuples = 1000, .relpages = 10, .current_pages = 30, .rows = 0}), 3000);
  // Analyzed holding only dead rows: "empty" over its pages, so one row however many it holds.
  EXPECT_EQ(PlannerRowEstimate({.reltuples = 0, .relpages = 700, .current_pages = 700, .rows = 20000}), 1);
  // No density to scale: the planner sizes the table from its pages and row width instead.
  EXPECT_EQ(PlannerRowEstimate({.reltuples = -1, .relpages = 0, .current_pages = 50, .rows = 5000}), std::nullopt);
  EXPECT_EQ(PlannerRowEstimate({.reltuples = 0, .relpages = 0, .current_pages = 50, .rows = 5000}), std::nullopt);
}

TEST(PlannerStatistics, StaleMeansBelievedBelowAQuarterOfAtLeastAHundredRows) {
  const PlannerView analyzed_empty{.reltuples = 0, .relpages = 700, .current_pages = 700, .rows = 0};
  PlannerView view = analyzed_empty;
  view.rows = kStaleStatisticsMinRows - 1;
  EXPECT_FALSE(StatisticsAreStale(view)) << "too few rows for any plan to hurt";
  view.rows = kStaleStatisticsMinRows;
  EXPECT_TRUE(StatisticsAreStale(view));

  // Density 1 row per page, 2,000 pages now: believed 2,000.
  const PlannerView grown{.reltuples = 100, .relpages = 100, .current_pages = 2000, .rows = 8000};
  static_assert(kStaleStatisticsMinRows <= 8000);
  EXPECT_FALSE(StatisticsAreStale(grown)) << "exactly four times what it believes";
  PlannerView more = grown;
  more.rows = 8001;
  EXPECT_TRUE(StatisticsAreStale(more));

  // Sized from its pages, not from statistics: never stale by this rule.
  EXPECT_FALSE(StatisticsAreStale({.reltuples = -1, .relpages = 0, .current_pages = 700, .rows = 100000}));
  EXPECT_FALSE(StatisticsAreStale({.reltuples = 0, .relpages = 0, .current_pages = 700, .rows = 100000}));
}

}  // namespace
}  // namespace paynotify::order

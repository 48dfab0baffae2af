// The rule PgOutboxStore uses to decide that the planner's statistics of mq_message are too
// old to plan a claim over (planner_statistics.hpp; the store's checks are in
// tests/integration/order/outbox_parking_it_test.cpp).
#include "order-service/outbox/planner_statistics.hpp"

#include <gtest/gtest.h>

namespace paynotify::order {
namespace {

TEST(PlannerStatistics, TheRowsDescribedScaleTheLastDensityToTheCurrentPages) {
  EXPECT_EQ(RowsDescribed({.reltuples = 1000, .relpages = 10, .current_pages = 30, .rows = 0}), 3000);
  // Analyzed holding only dead rows: "empty" over its pages, so one row however many it holds.
  EXPECT_EQ(RowsDescribed({.reltuples = 0, .relpages = 700, .current_pages = 700, .rows = 20000}), 1);
  // No pages to scale by: what the last VACUUM or ANALYZE counted (none when never analyzed).
  EXPECT_EQ(RowsDescribed({.reltuples = 0, .relpages = 0, .current_pages = 50, .rows = 5000}), 0);
  EXPECT_EQ(RowsDescribed({.reltuples = -1, .relpages = 0, .current_pages = 50, .rows = 5000}), 0);
  EXPECT_EQ(RowsDescribed({.reltuples = 40, .relpages = 0, .current_pages = 50, .rows = 5000}), 40);
}

TEST(PlannerStatistics, StaleMeansDescribingLessThanAQuarterOfAtLeastAHundredRows) {
  PlannerView view{.reltuples = 0, .relpages = 700, .current_pages = 700, .rows = 0};
  view.rows = kStaleStatisticsMinRows - 1;
  EXPECT_FALSE(StatisticsAreStale(view)) << "too few rows for any plan to hurt";
  view.rows = kStaleStatisticsMinRows;
  EXPECT_TRUE(StatisticsAreStale(view));

  // Density 1 row per page, 2,000 pages now: 2,000 rows described.
  const PlannerView grown{.reltuples = 100, .relpages = 100, .current_pages = 2000, .rows = 8000};
  static_assert(kStaleStatisticsMinRows <= 8000);
  EXPECT_FALSE(StatisticsAreStale(grown)) << "exactly four times what they describe";
  PlannerView more = grown;
  more.rows = 8001;
  EXPECT_TRUE(StatisticsAreStale(more));

  // Truncated while empty (VACUUM), or never analyzed, and then filled.
  EXPECT_TRUE(StatisticsAreStale({.reltuples = 0, .relpages = 0, .current_pages = 700, .rows = 100000}));
  EXPECT_TRUE(StatisticsAreStale({.reltuples = -1, .relpages = 0, .current_pages = 700, .rows = 100000}));
  EXPECT_FALSE(StatisticsAreStale({.reltuples = 90000, .relpages = 0, .current_pages = 700, .rows = 100000}));
}

}  // namespace
}  // namespace paynotify::order

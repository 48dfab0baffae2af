#pragma once

/// What the planner's statistics say about the outbox table, against what it holds.
///
/// The outbox is a queue: it empties and fills again. Statistics taken while it held only
/// dead rows say "0 rows over N pages", and the planner then sizes it at one row whatever it
/// holds, so a sudden backlog gets a claim plan that is quadratic in its size (bench/RESULTS.md
/// 15 – 17). PgOutboxStore compares the two and refreshes the statistics (ANALYZE) before a
/// claim is planned over them. Pure, so the rule is tested without a server.

#include <cstdint>

namespace paynotify::order {

struct PlannerView {
  double reltuples = -1;      ///< pg_class.reltuples: rows at the last VACUUM/ANALYZE; < 0 never
  int64_t relpages = 0;       ///< pg_class.relpages: pages at that time
  int64_t current_pages = 0;  ///< the table's size now, in pages
  int64_t rows = 0;           ///< rows it holds now (counted)
};

/// Rows the table's statistics describe. With pages to scale by, what PostgreSQL 15's
/// estimate_rel_size assumes: the density of the last VACUUM or ANALYZE (reltuples /
/// relpages) times the current pages, at least one row. Without (relpages 0: the table was
/// empty and truncated then, or never analyzed), the planner sizes the table from its pages
/// and row width instead, but its column statistics still describe reltuples rows (none
/// when negative), and the claim's plan goes wrong the other way: a hash anti join over the
/// whole outbox and a sort, 117 ms per claim of 2,000 over 100,000 rows instead of 7 ms
/// (bench/RESULTS.md 17).
inline double RowsDescribed(const PlannerView& view) {
  if (view.reltuples >= 0 && view.relpages > 0) {
    const double rows =
        view.reltuples / static_cast<double>(view.relpages) * static_cast<double>(view.current_pages);
    return rows < 1 ? 1 : rows;
  }
  return view.reltuples < 0 ? 0 : view.reltuples;
}

/// Below this many rows even the worst claim plan costs milliseconds (it grows with the
/// square of the rows: 17 s for 10,000, bench/RESULTS.md 15), so statistics are not refreshed
/// for fewer. Not more: a backlog of 600 rows already made a claim take 0.1 – 1 s, and while it
/// runs the backlog grows (RESULTS.md 17).
inline constexpr int64_t kStaleStatisticsMinRows = 100;

/// True when the statistics describe less than a quarter of the rows the table holds, and
/// it holds kStaleStatisticsMinRows or more: a claim planned now may be quadratic, or read
/// the whole table.
inline bool StatisticsAreStale(const PlannerView& view) {
  return view.rows >= kStaleStatisticsMinRows && RowsDescribed(view) * 4 < static_cast<double>(view.rows);
}

}  // namespace paynotify::order

#pragma once

/// What PostgreSQL's planner believes about the outbox table's size, against what it holds.
///
/// The outbox is a queue: it empties and fills again. Statistics taken while it held only
/// dead rows say "0 rows over N pages", and the planner then sizes it at one row whatever it
/// holds, so a sudden backlog gets a claim plan that is quadratic in its size (bench/RESULTS.md
/// 15 – 17). PgOutboxStore compares the two and refreshes the statistics (ANALYZE) before a
/// claim is planned over them. Pure, so the rule is tested without a server.

#include <cstdint>
#include <optional>

namespace paynotify::order {

struct PlannerView {
  double reltuples = -1;      ///< pg_class.reltuples: rows at the last VACUUM/ANALYZE; < 0 never
  int64_t relpages = 0;       ///< pg_class.relpages: pages at that time
  int64_t current_pages = 0;  ///< the table's size now, in pages
  int64_t rows = 0;           ///< rows it holds now (counted)
};

/// Rows the planner assumes the table holds, as PostgreSQL 15's estimate_rel_size computes
/// them: the density of the last statistics (reltuples / relpages) times the current pages,
/// at least one row. nullopt when there is no density to scale (never analyzed, or analyzed
/// at 0 pages): the planner then sizes the table from its pages and its row width, which
/// follows the table as it grows.
inline std::optional<double> PlannerRowEstimate(const PlannerView& view) {
  if (view.reltuples < 0 || view.relpages <= 0) return std::nullopt;
  const double rows = view.reltuples / static_cast<double>(view.relpages) * static_cast<double>(view.current_pages);
  return rows < 1 ? 1 : rows;
}

/// Below this many rows even the worst claim plan costs milliseconds (it grows with the
/// square of the rows: 17 s for 10,000, bench/RESULTS.md 15), so statistics are not refreshed
/// for fewer. Not more: a backlog of 600 rows already made a claim take 0.1 – 1 s, and while it
/// runs the backlog grows (RESULTS.md 17).
inline constexpr int64_t kStaleStatisticsMinRows = 100;

/// True when the planner believes the table holds less than a quarter of what it holds, and
/// it holds kStaleStatisticsMinRows or more: a claim planned now may be quadratic.
inline bool StatisticsAreStale(const PlannerView& view) {
  if (view.rows < kStaleStatisticsMinRows) return false;
  const std::optional<double> believed = PlannerRowEstimate(view);
  return believed && *believed * 4 < static_cast<double>(view.rows);
}

}  // namespace paynotify::order

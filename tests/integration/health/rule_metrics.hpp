#pragma once
// What deploy/prometheus/alerts.yml reads, for the tests that scrape a live daemon: so that a
// renamed or removed metric breaks a test, not silently an alert.
#include <set>
#include <string>

namespace paynotify::testing {

/// The paynotify_* metric names in the expressions of the alerts labelled
/// `service: <service>` or `service: paynotify` (both daemons). Fails the test (and returns
/// what it has) when the file cannot be read or names nothing.
std::set<std::string> RuleMetricNames(const std::string& service);

/// Metric family names in a Prometheus text exposition ("# TYPE <name> <type>" lines), with a
/// histogram's series names (_bucket, _sum, _count) too.
std::set<std::string> ExportedMetricNames(const std::string& exposition);

}  // namespace paynotify::testing

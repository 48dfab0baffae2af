#pragma once
// The report: one table per scenario (median, min, max over the runs) on stdout, and the
// same as JSON for --json.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_common.hpp"

namespace paynotify::bench {

/// Prints the table for `name` and returns its JSON (params, nproc, load averages, figures).
nlohmann::json Report(const std::string& name, const Options& o, const std::vector<Figures>& runs,
                      const std::vector<std::string>& loads);

}  // namespace paynotify::bench

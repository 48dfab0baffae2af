#pragma once
// The benchmark scenarios: each runs the real daemons (through the e2e harness) on one part of
// the pipeline, measures it, checks that everything was applied exactly once, and returns its
// figures. e2e = the whole path; relay, consumer, intake = one daemon's stage beside its raw
// limit; limits = the raw limits alone.
#include <string>

#include "bench/bench_common.hpp"

namespace paynotify::bench {

Figures ScenarioE2e(const Options& o);
Figures ScenarioRelay(const Options& o);
Figures ScenarioConsumer(const Options& o);
Figures ScenarioIntake(const Options& o);
Figures ScenarioLimits(const Options& o);
/// learning-service's apply rate while its retention deletes --backlog expired inbox rows,
/// against the rate without them; the inbox's size before/after (retention_scenario.cpp).
Figures ScenarioRetention(const Options& o);

/// The scenario called `name`; throws std::invalid_argument for an unknown name.
Figures RunScenario(const std::string& name, const Options& o);

}  // namespace paynotify::bench

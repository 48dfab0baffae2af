#pragma once
// CPU seconds per process over an interval (daemons by pid, the servers by command name),
// turned into "CPU seconds per 1,000 items" figures. /proc reading is in proc_stats.
#include <map>
#include <string>

#include <sys/types.h>

#include "bench/bench_common.hpp"

namespace paynotify::bench {

struct CpuSnapshot {
  std::map<std::string, double> seconds;  // "order-service", "learning-service", "postgres", "rabbitmq"
};

/// The daemons' CPU (a pid <= 0 is left out) and the servers' (every postgres / beam.smp).
CpuSnapshot TakeCpu(pid_t order_pid, pid_t learning_pid);

/// cpu_s_per_1000_<process> = (after - before) * 1000 / items, for each process in `after`.
void AddCpuFigures(Figures& f, const CpuSnapshot& before, const CpuSnapshot& after, int items);

}  // namespace paynotify::bench

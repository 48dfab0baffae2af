#include "bench/cpu_accounting.hpp"

#include "bench/proc_stats.hpp"

namespace paynotify::bench {

CpuSnapshot TakeCpu(pid_t order_pid, pid_t learning_pid) {
  CpuSnapshot s;
  if (order_pid > 0) s.seconds["order-service"] = ProcessCpuSeconds(order_pid);
  if (learning_pid > 0) s.seconds["learning-service"] = ProcessCpuSeconds(learning_pid);
  s.seconds["postgres"] = ServerCpuSeconds("postgres");
  s.seconds["rabbitmq"] = ServerCpuSeconds("beam.smp");
  return s;
}

void AddCpuFigures(Figures& f, const CpuSnapshot& before, const CpuSnapshot& after, int items) {
  for (const auto& [name, value] : after.seconds) {
    const auto it = before.seconds.find(name);
    const double delta = value - (it == before.seconds.end() ? 0 : it->second);
    f.Set("cpu_s_per_1000_" + name, delta * 1000.0 / items, "CPU s");
  }
}

}  // namespace paynotify::bench

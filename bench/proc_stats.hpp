#pragma once
// CPU time and peak memory of processes, read from /proc (Linux only).
#include <string>
#include <sys/types.h>

namespace paynotify::bench {

/// utime+stime of `pid` in seconds; 0 if the process is gone.
double ProcessCpuSeconds(pid_t pid);
/// Peak resident set size (VmHWM) of `pid` in MiB; 0 if the process is gone.
double PeakRssMiB(pid_t pid);
/// CPU seconds of every process whose command name is `comm` ("postgres", "beam.smp"):
/// utime+stime of the live ones plus cutime+cstime (their reaped children, e.g. PostgreSQL
/// backends that disconnected). Deltas of this sum are the server's CPU over an interval.
/// With $PAYNOTIFY_INFRA_STATE set (`scripts/infra env`) only that setup's servers count: a
/// postgres whose working directory, a beam.smp whose RABBITMQ_PID_FILE lies in the state
/// directory (on a shared machine other setups' servers run beside ours).
double ServerCpuSeconds(const std::string& comm);
/// "1.23 1.10 0.98" from /proc/loadavg.
std::string LoadAverage();

}  // namespace paynotify::bench

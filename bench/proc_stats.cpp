#include "bench/proc_stats.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace paynotify::bench {

namespace {

struct Stat {
  std::string comm;
  double own = 0;       // utime + stime, seconds
  double children = 0;  // cutime + cstime, seconds
  bool ok = false;
};

Stat ReadStat(const std::string& path) {
  Stat s;
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return s;
  // comm is in parentheses and may contain spaces: split at the last ')'.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return s;
  s.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  std::string field;
  while (rest >> field) f.push_back(field);
  // After comm: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17); f[0] is field 3.
  if (f.size() < 15) return s;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  s.own = (std::stod(f[11]) + std::stod(f[12])) / tick;
  s.children = (std::stod(f[13]) + std::stod(f[14])) / tick;
  s.ok = true;
  return s;
}

}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  if (pid <= 0) return 0;
  const Stat s = ReadStat("/proc/" + std::to_string(pid) + "/stat");
  return s.ok ? s.own : 0;
}

double PeakRssMiB(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

namespace {

/// True if the process in `proc_dir` (/proc/<pid>) belongs to the setup in `state` (a
/// directory path with a trailing '/'): see ServerCpuSeconds.
bool InState(const std::filesystem::path& proc_dir, const std::string& comm, const std::string& state) {
  if (comm == "beam.smp") {
    std::ifstream in(proc_dir / "environ", std::ios::binary);
    std::string var;
    const std::string wanted = "RABBITMQ_PID_FILE=" + state;
    while (std::getline(in, var, '\0')) {
      if (var.rfind(wanted, 0) == 0) return true;
    }
    return false;
  }
  std::error_code ec;
  const std::string cwd = std::filesystem::read_symlink(proc_dir / "cwd", ec).string();
  return !ec && cwd.rfind(state, 0) == 0;
}

}  // namespace

double ServerCpuSeconds(const std::string& comm) {
  std::string state;
  if (const char* s = std::getenv("PAYNOTIFY_INFRA_STATE"); s != nullptr && *s != '\0') {
    state = s;
    if (state.back() != '/') state += '/';
  }
  double total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const Stat s = ReadStat(entry.path().string() + "/stat");
    if (!s.ok || s.comm != comm) continue;
    if (!state.empty() && !InState(entry.path(), comm, state)) continue;
    total += s.own + s.children;
  }
  return total;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace paynotify::bench

#pragma once
// A daemon binary run as a real child process, for end-to-end tests.
//
// Output (stdout + stderr) goes to a log file so a failing test can show the daemon's last
// lines. The destructor sends SIGTERM and, if the process does not exit within the grace
// period, SIGKILL: a test never leaves a daemon behind.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace paynotify::e2e {

class ChildProcess {
 public:
  ChildProcess(std::string binary, std::vector<std::string> args,
               std::map<std::string, std::string> extra_env, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Start();
  /// Sets one environment variable for the next Start() (a running process keeps its own).
  void SetEnv(const std::string& key, const std::string& value) { extra_env_[key] = value; }
  /// SIGTERM, then wait up to `grace`; returns the exit code (or 128+signal). SIGKILL after grace.
  int Terminate(std::chrono::milliseconds grace = std::chrono::seconds(30));
  /// kill -9 and reap.
  void Kill9();
  bool IsRunning();
  pid_t Pid() const { return pid_; }
  /// The last `lines` lines of the process's log file.
  std::string LogTail(int lines = 40) const;
  const std::string& LogPath() const { return log_path_; }

 private:
  int WaitExit(std::chrono::milliseconds deadline);

  std::string binary_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> extra_env_;
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

}  // namespace paynotify::e2e

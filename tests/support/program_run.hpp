#pragma once
// One program run as a child process the way an operator's shell runs it: its own stdout and
// stderr captured, its real exit status, its environment chosen by the test, and a bound on
// how long it may take (then SIGKILL and a test failure). For tests of command-line tools
// (paynotifyctl) whose exit statuses and output are part of the contract.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace paynotify::testing {

/// A finished run.
struct ProgramRun {
  int status = -1;  ///< exit status; 128+N when killed by signal N
  std::string out;  ///< everything written to stdout
  std::string err;  ///< everything written to stderr
  /// stdout as exactly one JSON document (a test failure and an empty object otherwise).
  nlohmann::json Json() const;
};

/// The child's environment: ours (minus every variable starting with one of `drop_prefixes`),
/// then `set` on top.
struct ProgramEnv {
  std::vector<std::string> drop_prefixes;
  std::map<std::string, std::string> set;
};

/// A child that has not finished yet (for tests that hold a lock or a queue meanwhile).
/// Killed and reaped by the destructor if never waited for.
class RunningProgram {
 public:
  RunningProgram(const std::string& program, const std::vector<std::string>& args, const ProgramEnv& env = {});
  ~RunningProgram();
  RunningProgram(const RunningProgram&) = delete;
  RunningProgram& operator=(const RunningProgram&) = delete;
  RunningProgram(RunningProgram&& other) noexcept;

  /// Waits at most `deadline` (then SIGKILL and ADD_FAILURE) and collects the outcome.
  ProgramRun Wait(std::chrono::milliseconds deadline = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  std::string program_;
  std::filesystem::path dir_;  // holds the captured stdout and stderr; removed by Wait
  bool done_ = false;
};

/// RunningProgram(...).Wait(deadline).
ProgramRun RunProgram(const std::string& program, const std::vector<std::string>& args, const ProgramEnv& env = {},
                      std::chrono::milliseconds deadline = std::chrono::seconds(60));

}  // namespace paynotify::testing

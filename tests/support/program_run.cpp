#include "tests/support/program_run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_env.hpp"

extern char** environ;

namespace paynotify::testing {

namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> ChildEnvironment(const ProgramEnv& env) {
  std::vector<std::string> entries;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool drop = env.set.count(name) > 0;
    for (const auto& prefix : env.drop_prefixes) drop = drop || entry.rfind(prefix, 0) == 0;
    if (!drop) entries.push_back(entry);
  }
  for (const auto& [name, value] : env.set) entries.push_back(name + "=" + value);
  return entries;
}

}  // namespace

nlohmann::json ProgramRun::Json() const {
  try {
    return nlohmann::json::parse(out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not one JSON document (" << e.what() << "):\n" << out << "\nstderr:\n" << err;
    return nlohmann::json::object();
  }
}

RunningProgram::RunningProgram(const std::string& program, const std::vector<std::string>& args,
                               const ProgramEnv& env)
    : program_(program), dir_(fs::temp_directory_path() / UniqueName("program-run")) {
  fs::create_directories(dir_);
  const fs::path out = dir_ / "out", err = dir_ / "err";
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> envp;
  for (auto& v : env_strings) envp.push_back(v.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0) ::_exit(126);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (pid < 0) throw std::runtime_error("fork failed");
  pid_ = pid;
}

RunningProgram::RunningProgram(RunningProgram&& other) noexcept
    : pid_(other.pid_), program_(std::move(other.program_)), dir_(std::move(other.dir_)), done_(other.done_) {
  other.done_ = true;
  other.dir_.clear();
}

RunningProgram::~RunningProgram() {
  if (!done_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ignored;
  if (!dir_.empty()) fs::remove_all(dir_, ignored);
}

ProgramRun RunningProgram::Wait(std::chrono::milliseconds deadline) {
  ProgramRun run;
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      ADD_FAILURE() << program_ << " did not finish within " << deadline.count() << " ms";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a child's exit
  }
  done_ = true;
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = ReadFile(dir_ / "out");
  run.err = ReadFile(dir_ / "err");
  return run;
}

ProgramRun RunProgram(const std::string& program, const std::vector<std::string>& args, const ProgramEnv& env,
                      std::chrono::milliseconds deadline) {
  return RunningProgram(program, args, env).Wait(deadline);
}

}  // namespace paynotify::testing

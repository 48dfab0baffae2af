// paynotifyctl: the operator tool (issue 11 section 2). The composition root: the command
// table (commands.cpp) and the runner (cli/run.hpp) do the rest.
#include <iostream>
#include <string>
#include <vector>

#include "common/log/log.hpp"
#include "paynotifyctl/cli/run.hpp"
#include "paynotifyctl/commands.hpp"

int main(int argc, char** argv) {
  // The libraries' "connected to ..." lines are for daemons; a tool's stderr says only what
  // went wrong (warnings and errors still show, escaped, on stderr: never on stdout).
  paynotify::log::Init(paynotify::log::LogSettings{.level = "warn", .json = false});
  const std::vector<std::string> words(argv + 1, argv + argc);
  const int status = paynotify::ctl::Run(words, paynotify::ctl::AllCommands(), std::cout, std::cerr);
  std::cout.flush();
  return status;
}

// paynotifyctl: the operator tool (issue 11 section 2). The composition root: the command
// table (commands.cpp) and the runner (cli/run.hpp) do the rest.
#include <iostream>
#include <string>
#include <vector>

#include "paynotifyctl/cli/run.hpp"
#include "paynotifyctl/commands.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> words(argv + 1, argv + argc);
  const int status = paynotify::ctl::Run(words, paynotify::ctl::AllCommands(), std::cout, std::cerr);
  std::cout.flush();
  return status;
}

#pragma once
/// Every paynotifyctl command, in the order `paynotifyctl --help` lists them.
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

/// The command table. To add a group, see cli/command.hpp: one Register*Commands line here.
std::vector<Command> AllCommands();

}  // namespace paynotify::ctl

#include "paynotifyctl/commands.hpp"

#include "paynotifyctl/dlq/dlq_commands.hpp"
#include "paynotifyctl/outbox/outbox_commands.hpp"
#include "paynotifyctl/trace/trace_command.hpp"

namespace paynotify::ctl {

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  RegisterOutboxCommands(commands);
  RegisterDlqCommands(commands);
  RegisterTraceCommand(commands);
  return commands;
}

}  // namespace paynotify::ctl

#pragma once
/// `paynotifyctl trace (--pay-no N | --message-id ID | --selection ID)`: one payment through
/// both databases, ending with a verdict.
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

/// Appends the trace command to `commands`.
void RegisterTraceCommand(std::vector<Command>& commands);

}  // namespace paynotify::ctl

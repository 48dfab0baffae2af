#pragma once
// A small command table shaped like the real one (a group with verbs, a group that is one
// command), for the parser and runner tests.
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl::testing {

inline std::vector<Command> TestCommands(Handler handler = [](const Invocation&) { return Result{}; }) {
  std::vector<Command> c;
  c.push_back(Command{.group = "outbox", .verb = "status", .summary = "counts", .synopsis = "",
                      .description = "", .options = {}, .positional = "", .handler = handler});
  c.push_back(Command{.group = "outbox",
                      .verb = "list",
                      .summary = "rows",
                      .synopsis = "[--parked] [--limit N]",
                      .description = "Lists rows.",
                      .options = {{.name = "--parked", .value_name = "", .help = "only parked"},
                                  {.name = "--limit", .value_name = "N", .help = "at most N"}},
                      .positional = "",
                      .handler = handler});
  c.push_back(Command{.group = "outbox",
                      .verb = "requeue",
                      .summary = "back to pending",
                      .synopsis = "(ID... | --all-parked)",
                      .description = "",
                      .options = {{.name = "--all-parked", .value_name = "", .help = "all parked"}},
                      .positional = "ID...",
                      .handler = handler});
  c.push_back(Command{.group = "trace",
                      .verb = "",
                      .summary = "one payment",
                      .synopsis = "(--pay-no N | --selection ID)",
                      .description = "",
                      .options = {{.name = "--pay-no", .value_name = "N", .help = "pay number"},
                                  {.name = "--selection", .value_name = "ID", .help = "selection", .repeatable = true}},
                      .positional = "",
                      .handler = handler});
  return c;
}

}  // namespace paynotify::ctl::testing

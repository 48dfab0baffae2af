#pragma once
/// paynotifyctl's main(): parse the command line, run the handler, print the result, map
/// what went wrong to an exit status (command.hpp). Pure apart from the streams it is given.
#include <ostream>
#include <string>
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

/// Runs one command line (argv[1..] as `words`) against `commands`; returns the exit status.
///  - --help at any level: that level's help on `out`, 0.
///  - UsageError: the message and the usage of the level reached on `err`, 2.
///  - config::ConfigErrors: every error (file:line: key: message) on `err`, 2.
///  - NotFound / Unavailable / any other exception: the message on `err`, 1; with --json,
///    also {"error": {"kind": "not_found"|"unavailable"|"failed", "message": ...}} on `out`.
///  - otherwise the handler's Result: the JSON document (--json) or the text on `out`, its
///    error line (if any) on `err`, its exit status.
/// Never throws (a failing stream is the caller's business).
int Run(const std::vector<std::string>& words, const std::vector<Command>& commands, std::ostream& out,
        std::ostream& err);

}  // namespace paynotify::ctl

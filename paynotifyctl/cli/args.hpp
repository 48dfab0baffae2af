#pragma once
/// The command line: `paynotifyctl [--orders-config F] [--learning-config F] [--json]
/// GROUP [VERB] [OPTIONS] [ARGS]`. Pure; unit-tested.
///
/// Global options may appear anywhere before a `--` (so `outbox status --json` works); a
/// later one overrides an earlier one (scripts/ctl puts its defaults first). `--help`/`-h`
/// anywhere asks for the help of the level named so far (program, group or verb). Options
/// take `--name value` or `--name=value`; after `--` every word is positional.
#include <optional>
#include <string>
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

inline constexpr const char* kProgram = "paynotifyctl";

/// What the command line asks for.
struct ParsedLine {
  GlobalOptions global;
  /// The command to run; null when help was asked for or the line was incomplete.
  const Command* command = nullptr;
  Args args;
  /// --help given: print `help` on stdout and exit 0.
  bool help = false;
  /// The help (or usage) text of the level reached: program, group or verb.
  std::string help_text;
};

/// Parses argv[1..]. Throws UsageError (message without the usage text; `usage` gets the
/// help text of the level reached, to print after it) on: no group, an unknown group or verb,
/// a group without its verb, an unknown option, a missing option value, a repeated option,
/// positional words for a verb that takes none.
ParsedLine ParseCommandLine(const std::vector<std::string>& words, const std::vector<Command>& commands,
                            std::string* usage);

/// The program's help: synopsis, global options, every group and verb, exit statuses.
std::string ProgramHelp(const std::vector<Command>& commands);
/// A group's help: its verbs with their synopsis and summary.
std::string GroupHelp(const std::string& group, const std::vector<Command>& commands);
/// One command's help: synopsis, description, options.
std::string CommandHelp(const Command& command);

}  // namespace paynotify::ctl

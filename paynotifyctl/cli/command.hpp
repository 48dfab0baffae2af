#pragma once
/// paynotifyctl's command model: what a command declares (group, verb, options, handler),
/// what its handler receives (the parsed arguments) and returns (a Result), and the errors a
/// handler throws to end with a given exit status.
///
/// Adding a command group (e.g. `dlq`): write paynotifyctl/<group>/<group>_commands.{hpp,cpp}
/// with `void Register<Group>Commands(std::vector<Command>& commands)` that appends one
/// Command per verb, add the .cpp to paynotifyctl/CMakeLists.txt (ctl_commands), and add one
/// line calling it in paynotifyctl/commands.cpp. Parsing, --help at every level, --json and
/// the exit statuses come from cli/ (see run.hpp); the handler only does its work.
///
/// Exit statuses (kExit*): 0 success; 1 the command could not do what was asked: something
/// it was asked to act on does not exist (an unknown id), a server cannot be reached, or any
/// other failure (stderr says which, and with --json so does error.kind); 2 bad usage or a
/// bad config file. Everything here is pure: no libpqxx, no rabbitmq-c.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace paynotify::ctl {

inline constexpr int kExitOk = 0;
/// Not found, server unreachable, or another failure while doing the work.
inline constexpr int kExitFailed = 1;
/// Bad usage (arguments) or a bad config file: nothing was attempted.
inline constexpr int kExitUsage = 2;

/// Bad arguments: the message is printed with the command's usage; exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Something the command was asked to act on does not exist (an unknown id); exit 1,
/// error.kind "not_found". The message names what is missing; it must already be printable
/// (escape untrusted parts with text::Printable).
class NotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A server (database, broker) cannot be reached or refused the login; exit 1,
/// error.kind "unavailable". The message must already be printable.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Options every command understands, wherever they appear on the command line.
struct GlobalOptions {
  /// order-service's config file (order-service's own default: relative to the working
  /// directory, as the daemon resolves --config).
  std::string orders_config = "config/order-service.yaml";
  /// learning-service's config file (likewise).
  std::string learning_config = "config/learning-service.yaml";
  bool json = false;  ///< --json: one JSON document on stdout instead of a text table
};

/// One option a verb accepts. A flag when value_name is empty; otherwise it takes a value
/// (`--limit 5` or `--limit=5`). A repeated non-repeatable option is a usage error.
struct Option {
  std::string name;        ///< "--limit"
  std::string value_name;  ///< "N"; empty for a flag
  std::string help;        ///< one line
  bool repeatable = false;
};

/// A verb's parsed arguments (options and positional words), as declared by its Command.
class Args {
 public:
  /// True when the flag (or a value option) was given.
  bool Has(std::string_view name) const;
  /// The last value given for `name`, or nullopt.
  std::optional<std::string> Value(std::string_view name) const;
  /// Every value given for a repeatable option, in order.
  std::vector<std::string> Values(std::string_view name) const;
  /// The option's value as an integer in [min, max]; `fallback` when absent. A malformed or
  /// out-of-range value throws UsageError naming the option.
  int64_t Int(std::string_view name, int64_t fallback, int64_t min, int64_t max) const;
  const std::vector<std::string>& Positionals() const { return positionals_; }

  void Add(const std::string& name, std::string value) { options_[name].push_back(std::move(value)); }
  void AddPositional(std::string word) { positionals_.push_back(std::move(word)); }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> options_;
  std::vector<std::string> positionals_;
};

/// Parses `text` as a decimal int64 in [min, max]; throws UsageError("<what>: ...").
int64_t ParseInt(std::string_view text, std::string_view what, int64_t min, int64_t max);

/// What a handler works with.
struct Invocation {
  const GlobalOptions& global;
  const Args& args;
};

/// What a handler returns: the JSON document (for --json) and the text rendering (otherwise;
/// every untrusted byte in it already escaped, see output.hpp). exit_status lets a command
/// report partial failure with a full report (e.g. "2 replayed, 1 still failing" -> 1).
struct Result {
  nlohmann::json json = nlohmann::json::object();
  std::string text;
  int exit_status = kExitOk;
  /// When exit_status != 0: one line for stderr saying why (printable).
  std::string error;
  /// When exit_status != 0: error.kind of the --json document ("failed" or "not_found"), which
  /// Run adds to the document so scripts branch on it as for a command that threw.
  std::string error_kind = "failed";
};

using Handler = std::function<Result(const Invocation&)>;

/// One command: `paynotifyctl GROUP VERB [OPTIONS] [ARGS]`, or `paynotifyctl GROUP [OPTIONS]`
/// when verb is empty (a group that is one command, like `trace`).
struct Command {
  std::string group;
  std::string verb;
  std::string summary;      ///< one line, for the group's help
  std::string synopsis;     ///< the arguments after "GROUP VERB", e.g. "[--parked] [--limit N]"
  std::string description;  ///< further lines for the verb's --help (may be empty)
  std::vector<Option> options;
  /// Name of the positional arguments ("ID..."); empty: positional words are a usage error.
  std::string positional;
  Handler handler;
};

}  // namespace paynotify::ctl

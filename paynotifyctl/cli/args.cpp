#include "paynotifyctl/cli/args.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "common/text/escape.hpp"

namespace paynotify::ctl {

namespace {

using text::Printable;

constexpr size_t kWordLimit = 64;  // argv words quoted in error messages

bool IsHelp(const std::string& word) { return word == "--help" || word == "-h"; }

bool LooksLikeOption(const std::string& word) { return word.size() > 1 && word[0] == '-'; }

std::string Synopsis(const Command& c) {
  std::string line = c.group;
  if (!c.verb.empty()) line += " " + c.verb;
  if (!c.synopsis.empty()) line += " " + c.synopsis;
  return line;
}

// Two columns: left padded to the widest left entry (bounded, so one long synopsis does not
// push every summary off the screen).
std::string TwoColumns(const std::vector<std::pair<std::string, std::string>>& rows, size_t indent = 2) {
  size_t width = 0;
  for (const auto& [left, right] : rows) width = std::max(width, left.size());
  width = std::min<size_t>(width, 40);
  std::string out;
  for (const auto& [left, right] : rows) {
    out += std::string(indent, ' ') + left;
    if (left.size() > width) {
      out += "\n" + std::string(indent + width + 2, ' ');
    } else {
      out += std::string(width - left.size() + 2, ' ');
    }
    out += right + "\n";
  }
  return out;
}

constexpr std::string_view kGlobalOptionsHelp =
    "global options (anywhere before --; the last one given wins):\n"
    "  --orders-config FILE    order-service's config file (default config/order-service.yaml)\n"
    "  --learning-config FILE  learning-service's config file (default config/learning-service.yaml)\n"
    "  --json                  one JSON document on stdout instead of a table\n"
    "  -h, --help              help for the program, a group (GROUP --help) or a command\n";

constexpr std::string_view kConfigHelp =
    "Config files are read by the daemons' own readers: the same PAYNOTIFY_<KEY_PATH>\n"
    "environment overrides (e.g. PAYNOTIFY_DATABASE_PASSWORD) and secret files; only the keys\n"
    "a command uses (e.g. database.*) and the file itself are checked. Paths are relative to\n"
    "the working directory, as for the daemons' --config.\n";

constexpr std::string_view kExitHelp =
    "exit status:\n"
    "  0  success\n"
    "  1  something it was asked to act on does not exist (an unknown id), a server cannot be\n"
    "     reached, or the work failed; stderr says which (with --json, also the document's\n"
    "     error.kind: not_found | unavailable | failed)\n"
    "  2  bad usage or a bad config file (every error with file:line); nothing was done\n";

bool IsGlobalWithValue(std::string_view name) { return name == "--orders-config" || name == "--learning-config"; }

const Option* FindOption(const Command& command, std::string_view name) {
  for (const Option& o : command.options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

bool GroupExists(const std::string& group, const std::vector<Command>& commands) {
  return std::any_of(commands.begin(), commands.end(), [&](const Command& c) { return c.group == group; });
}

const Command* FindCommand(const std::string& group, const std::string& verb, const std::vector<Command>& commands) {
  for (const Command& c : commands) {
    if (c.group == group && c.verb == verb) return &c;
  }
  return nullptr;
}

}  // namespace

bool Args::Has(std::string_view name) const { return options_.find(name) != options_.end(); }

std::optional<std::string> Args::Value(std::string_view name) const {
  const auto it = options_.find(name);
  if (it == options_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::Values(std::string_view name) const {
  const auto it = options_.find(name);
  return it == options_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Args::Int(std::string_view name, int64_t fallback, int64_t min, int64_t max) const {
  const auto value = Value(name);
  if (!value) return fallback;
  return ParseInt(*value, name, min, max);
}

int64_t ParseInt(std::string_view text, std::string_view what, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    throw UsageError(fmt::format("{}: expected an integer between {} and {}, got '{}'", what, min, max,
                                 Printable(text, kWordLimit)));
  }
  return value;
}

std::string ProgramHelp(const std::vector<Command>& commands) {
  std::string out = fmt::format(
      "usage: {} [--orders-config FILE] [--learning-config FILE] [--json] GROUP [VERB] [ARGS]\n\n"
      "Operator tool for paynotify: see what is stuck on the message path and fix it.\n\n"
      "commands:\n",
      kProgram);
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Command& c : commands) rows.emplace_back(Synopsis(c), c.summary);
  out += TwoColumns(rows);
  out += "\n";
  out += kGlobalOptionsHelp;
  out += "\n";
  out += kConfigHelp;
  out += "\n";
  out += kExitHelp;
  return out;
}

std::string GroupHelp(const std::string& group, const std::vector<Command>& commands) {
  std::string out = fmt::format("usage: {} [GLOBAL OPTIONS] {} VERB [ARGS]   ({} {} VERB --help for more)\n\nverbs:\n",
                                kProgram, group, kProgram, group);
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Command& c : commands) {
    if (c.group == group) rows.emplace_back(Synopsis(c), c.summary);
  }
  out += TwoColumns(rows);
  out += "\n";
  out += kGlobalOptionsHelp;
  out += "\n";
  out += kExitHelp;
  return out;
}

std::string CommandHelp(const Command& command) {
  std::string out = fmt::format("usage: {} [GLOBAL OPTIONS] {}\n\n{}\n", kProgram, Synopsis(command), command.summary);
  if (!command.description.empty()) out += "\n" + command.description + (command.description.back() == '\n' ? "" : "\n");
  if (!command.options.empty()) {
    out += "\noptions:\n";
    std::vector<std::pair<std::string, std::string>> rows;
    for (const Option& o : command.options) {
      rows.emplace_back(o.value_name.empty() ? o.name : o.name + " " + o.value_name,
                        o.help + (o.repeatable ? " (repeatable)" : ""));
    }
    out += TwoColumns(rows);
  }
  out += "\n";
  out += kGlobalOptionsHelp;
  out += "\n";
  out += kExitHelp;
  return out;
}

ParsedLine ParseCommandLine(const std::vector<std::string>& words, const std::vector<Command>& commands,
                            std::string* usage) {
  ParsedLine line;
  // With --help anywhere (before --), only group and verb words matter: whatever else is on
  // the line must not stop the help from being shown.
  for (const std::string& word : words) {
    if (word == "--") break;
    if (IsHelp(word)) line.help = true;
  }
  std::string group;
  bool group_is_command = false;
  const Command* command = nullptr;
  std::set<std::string> seen_options;
  auto fail = [&](const std::string& message) -> void {
    if (line.help) return;  // help wins over any other problem on the line
    if (usage != nullptr) {
      *usage = command != nullptr ? CommandHelp(*command)
               : !group.empty()   ? GroupHelp(group, commands)
                                  : ProgramHelp(commands);
    }
    throw UsageError(message);
  };

  bool positional_only = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (!positional_only && word == "--") {
      positional_only = true;
      continue;
    }
    if (!positional_only && IsHelp(word)) continue;
    if (!positional_only && LooksLikeOption(word)) {
      std::string name = word;
      std::optional<std::string> inline_value;
      if (const size_t eq = word.find('='); eq != std::string::npos && word.rfind("--", 0) == 0) {
        name = word.substr(0, eq);
        inline_value = word.substr(eq + 1);
      }
      // A value option's value: inline, or the next word.
      auto take_value = [&](const std::string& value_name) -> std::optional<std::string> {
        if (inline_value) return inline_value;
        // A next word that looks like an option is not taken as the value: `--reason --dry-run`
        // must not run a real replay of reason "--dry-run". Such a value is given inline.
        if (i + 1 < words.size() && !words[i + 1].starts_with("--")) return words[++i];
        if (i + 1 < words.size()) {
          fail(fmt::format("{} needs a value ({}), not the option {}; a value starting with -- is given as {}=VALUE",
                           Printable(name, kWordLimit), value_name, Printable(words[i + 1], kWordLimit),
                           Printable(name, kWordLimit)));
          return std::nullopt;
        }
        fail(fmt::format("{} needs a value ({})", Printable(name, kWordLimit), value_name));
        return std::nullopt;
      };
      if (name == "--json") {
        if (inline_value) fail("--json takes no value");
        line.global.json = true;
        continue;
      }
      if (IsGlobalWithValue(name)) {
        const auto value = take_value("FILE");
        if (!value) continue;
        if (value->empty()) fail(fmt::format("{} needs a file name", name));
        (name == "--orders-config" ? line.global.orders_config : line.global.learning_config) = *value;
        continue;
      }
      const Option* option = command != nullptr ? FindOption(*command, name) : nullptr;
      if (option == nullptr) {
        if (command == nullptr && !group.empty()) {
          fail(fmt::format("unknown option '{}' (a verb's options go after the verb)", Printable(name, kWordLimit)));
        } else {
          fail(fmt::format("unknown option '{}'", Printable(name, kWordLimit)));
        }
        continue;
      }
      if (!option->repeatable && !seen_options.insert(option->name).second) {
        fail(fmt::format("{} given twice", option->name));
      }
      if (option->value_name.empty()) {
        if (inline_value) fail(fmt::format("{} takes no value", option->name));
        line.args.Add(option->name, "");
      } else if (const auto value = take_value(option->value_name)) {
        line.args.Add(option->name, *value);
      }
      continue;
    }
    // A word: the group, then the verb, then positional arguments.
    if (group.empty() && !positional_only) {
      if (!GroupExists(word, commands)) fail(fmt::format("unknown command '{}'", Printable(word, kWordLimit)));
      if (line.help && !GroupExists(word, commands)) break;
      group = word;
      command = FindCommand(group, "", commands);
      group_is_command = command != nullptr;
      continue;
    }
    if (command == nullptr && !group_is_command && !positional_only) {
      command = FindCommand(group, word, commands);
      if (command == nullptr) {
        fail(fmt::format("unknown verb '{}' for '{}'", Printable(word, kWordLimit), group));
        break;
      }
      continue;
    }
    if (command == nullptr || command->positional.empty()) {
      fail(fmt::format("unexpected argument '{}'", Printable(word, kWordLimit)));
      continue;
    }
    line.args.AddPositional(word);
  }

  if (line.help) {
    line.help_text = command != nullptr ? CommandHelp(*command)
                     : !group.empty()   ? GroupHelp(group, commands)
                                        : ProgramHelp(commands);
    return line;
  }
  if (group.empty()) fail("no command given");
  if (command == nullptr) fail(fmt::format("'{}' needs a verb", group));
  line.command = command;
  line.help_text = CommandHelp(*command);
  return line;
}

}  // namespace paynotify::ctl

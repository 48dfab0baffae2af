#include "paynotifyctl/cli/run.hpp"

#include <fmt/format.h>

#include "common/config/reader.hpp"
#include "common/text/escape.hpp"
#include "paynotifyctl/cli/args.hpp"
#include "paynotifyctl/cli/output.hpp"

namespace paynotify::ctl {

namespace {

// Error messages may quote untrusted text; each part is escaped where it is built, and the
// whole is bounded here once more (4 KiB: several escaped values and their context).
constexpr size_t kErrorLimit = 4096;

// On a usage error: the help of the level reached, up to its option lists, and where the rest is.
std::string ShortUsage(const std::string& help) {
  const size_t cut = help.find("\nglobal options");
  if (cut == std::string::npos) return help;
  return help.substr(0, cut + 1) + "(--help for the options and exit statuses)\n";
}

int Fail(bool json, std::string_view kind, const std::string& message, std::ostream& out, std::ostream& err) {
  const std::string printable = text::CutToBytes(message, kErrorLimit);
  err << kProgram << ": " << printable << "\n";
  if (json) out << DumpJson({{"error", {{"kind", kind}, {"message", printable}}}});
  return kExitFailed;
}

}  // namespace

int Run(const std::vector<std::string>& words, const std::vector<Command>& commands, std::ostream& out,
        std::ostream& err) {
  ParsedLine line;
  std::string usage;
  try {
    line = ParseCommandLine(words, commands, &usage);
  } catch (const UsageError& e) {
    err << kProgram << ": " << e.what() << "\n\n" << ShortUsage(usage);
    return kExitUsage;
  }
  if (line.help) {
    out << line.help_text;
    return kExitOk;
  }
  const bool json = line.global.json;
  try {
    const Invocation invocation{line.global, line.args};
    Result result = line.command->handler(invocation);
    if (json && result.exit_status != kExitOk && result.json.is_object() && !result.json.contains("error")) {
      result.json["error"] = {{"kind", result.error_kind}, {"message", result.error}};
    }
    if (json) {
      out << DumpJson(result.json);
    } else {
      out << result.text;
    }
    if (result.exit_status != kExitOk && !result.error.empty()) {
      err << kProgram << ": " << text::CutToBytes(result.error, kErrorLimit) << "\n";
    }
    return result.exit_status;
  } catch (const UsageError& e) {
    err << kProgram << ": " << e.what() << "\n\n" << ShortUsage(line.help_text);
    return kExitUsage;
  } catch (const config::ConfigErrors& e) {
    // ConfigError texts are built by the reader from the file's own bytes: escape each line.
    err << kProgram << ": invalid configuration (" << e.errors().size() << " error"
        << (e.errors().size() == 1 ? "" : "s") << "):\n";
    for (const config::ConfigError& error : e.errors()) err << text::Printable(error.ToString(), 1024) << "\n";
    return kExitUsage;
  } catch (const NotFound& e) {
    return Fail(json, "not_found", e.what(), out, err);
  } catch (const Unavailable& e) {
    return Fail(json, "unavailable", e.what(), out, err);
  } catch (const std::exception& e) {
    return Fail(json, "failed", text::Printable(e.what(), kErrorLimit), out, err);
  }
}

}  // namespace paynotify::ctl

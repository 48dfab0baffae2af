// The reader: finds key paths in the YAML tree or the environment, records what was read
// (for Finish's unknown-key check and Redacted), and turns every problem into a ConfigError
// with file, line and key path. Parsing a scalar's text is in scalars.cpp; "did you mean"
// in suggest.cpp.
#include "common/config/reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "common/config/scalars.hpp"
#include "common/config/suggest.hpp"

namespace paynotify::config {
namespace {

using namespace detail;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string JoinPath(const std::string& parent, std::string_view child) {
  return parent.empty() ? std::string(child) : parent + "." + std::string(child);
}

std::string Quote(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() > kMax) return fmt::format("'{}...'", text.substr(0, kMax));
  return fmt::format("'{}'", text);
}

std::string Describe(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return Quote(node.Scalar());
  return "nothing";
}

std::pair<int, int> Position(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {0, 0};
  return {mark.line + 1, mark.column + 1};
}

std::string RenderList(const std::vector<std::string>& items) {
  return fmt::format("[{}]", fmt::join(items, ", "));
}

bool LooksSecret(std::string_view path) {
  const std::string last = Lower(LastSegment(path));
  if (last.size() >= 5 && last.compare(last.size() - 5, 5, "-file") == 0) return false;
  return last.find("password") != std::string::npos || last.find("secret") != std::string::npos ||
         last.find("token") != std::string::npos;
}

// Reads at most `limit` bytes of `f` into `out`. Why bounded: the path comes from the config
// (or the command line) and may name /dev/zero, a pipe or a huge file by mistake.
enum class ReadOutcome { kOk, kTooLarge, kError };
ReadOutcome ReadBounded(std::FILE* f, size_t limit, std::string& out) {
  char buffer[8192];
  while (true) {
    const size_t n = std::fread(buffer, 1, sizeof buffer, f);
    if (n == 0) break;
    if (out.size() + n > limit) return ReadOutcome::kTooLarge;
    out.append(buffer, n);
  }
  return std::ferror(f) != 0 ? ReadOutcome::kError : ReadOutcome::kOk;
}

constexpr std::string_view kDurationExpected =
    "expected a duration such as 250ms, 2s, 1.5s, 1m or an integer number of milliseconds";

}  // namespace

std::string ConfigError::ToString() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

namespace {
std::string JoinErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.ToString();
  }
  return out;
}
}  // namespace

ConfigErrors::ConfigErrors(std::vector<ConfigError> errors)
    : std::runtime_error(JoinErrors(errors)), errors_(std::move(errors)) {}

Reader::Reader(std::string file_label, std::string env_prefix, EnvLookup env, bool)
    : file_(std::move(file_label)), env_prefix_(std::move(env_prefix)), env_(std::move(env)) {
  if (!env_) {
    env_ = [](const std::string& name) -> std::optional<std::string> {
      if (const char* value = std::getenv(name.c_str())) return std::string(value);
      return std::nullopt;
    };
  }
}

Reader::Reader(std::string file_path, std::string env_prefix, EnvLookup env)
    : Reader(std::move(file_path), std::move(env_prefix), std::move(env), true) {
  std::FILE* f = std::fopen(file_.c_str(), "rb");
  if (f == nullptr) {
    AddErrorAt("", 0, 0, fmt::format("cannot read config file: {}", std::strerror(errno)));
    return;
  }
  std::string text;
  const ReadOutcome outcome = ReadBounded(f, kMaxConfigFileBytes, text);
  const int read_errno = errno;
  std::fclose(f);
  if (outcome == ReadOutcome::kTooLarge) {
    AddErrorAt("", 0, 0,
               fmt::format("config file is larger than {} bytes; is it the right file?",
                           kMaxConfigFileBytes));
    return;
  }
  if (outcome == ReadOutcome::kError) {
    AddErrorAt("", 0, 0, fmt::format("cannot read config file: {}", std::strerror(read_errno)));
    return;
  }
  LoadText(text);
}

Reader Reader::FromString(std::string_view yaml_text, std::string file_label,
                          std::string env_prefix, EnvLookup env) {
  Reader reader(std::move(file_label), std::move(env_prefix), std::move(env), true);
  reader.LoadText(yaml_text);
  return reader;
}

void Reader::LoadText(std::string_view text) {
  try {
    YAML::Node loaded = YAML::Load(std::string(text));
    if (loaded.IsMap()) {
      root_.reset(loaded);
    } else if (loaded.IsDefined() && !loaded.IsNull()) {
      const auto [line, column] = Position(loaded);
      AddErrorAt("", line == 0 ? 1 : line, column == 0 ? 1 : column,
                 fmt::format("expected a map of settings at the top level, got {}",
                             Describe(loaded)));
    }
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line < 0 ? 0 : e.mark.line + 1;
    const int column = e.mark.column < 0 ? 0 : e.mark.column + 1;
    AddErrorAt("", line, column, fmt::format("invalid YAML: {}", e.msg));
  }
}

std::string Reader::EnvName(std::string_view key_path) const {
  std::string name = env_prefix_ + "_";
  for (const char c : key_path) {
    name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::optional<std::string> Reader::EnvValue(std::string_view key_path) const {
  if (env_prefix_.empty()) return std::nullopt;
  return env_(EnvName(key_path));
}

std::optional<Reader::Located> Reader::Find(std::string_view key_path) const {
  if (!root_.IsMap()) return std::nullopt;
  const std::vector<std::string> parts = SplitPath(key_path);
  YAML::Node current(root_);  // copy-constructing shares the node; never assign (that writes)
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!current.IsMap()) return std::nullopt;
    std::optional<YAML::Node> child;
    for (auto it = current.begin(); it != current.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == parts[i]) {
        child.emplace(it->second);
        break;
      }
    }
    if (!child) return std::nullopt;
    if (i + 1 == parts.size()) {
      if (!child->IsDefined() || child->IsNull()) return std::nullopt;
      const auto [line, column] = Position(*child);
      return Located{*child, line, column};
    }
    current.reset(*child);
  }
  return std::nullopt;
}

std::optional<Reader::RawValue> Reader::Scalar(std::string_view key_path,
                                               std::string_view expected,
                                               std::string fallback_text) {
  if (!read_.contains(std::string(key_path))) {
    MarkRead(key_path, std::move(fallback_text), "default");
  }
  if (auto env = EnvValue(key_path)) {
    return RawValue{Trim(*env), EnvName(key_path), 0, 0};
  }
  // Walk the path; a scalar where a map is needed ("rabbitmq: localhost") is reported once.
  if (root_.IsMap()) {
    const std::vector<std::string> parts = SplitPath(key_path);
    std::string walked;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      walked = JoinPath(walked, parts[i]);
      auto parent = Find(walked);
      if (!parent) break;
      if (!parent->node.IsMap()) {
        invalid_paths_.insert(walked);
        AddErrorAt(walked, parent->line, parent->column,
                   fmt::format("expected a map of settings, got {}", Describe(parent->node)));
        return std::nullopt;
      }
    }
  }
  auto found = Find(key_path);
  if (!found) return std::nullopt;
  if (!found->node.IsScalar()) {
    AddErrorAt(key_path, found->line, found->column,
               fmt::format("expected {}, got {}", expected, Describe(found->node)));
    return std::nullopt;
  }
  return RawValue{found->node.Scalar(), std::nullopt, found->line, found->column};
}

void Reader::MarkRead(std::string_view key_path, std::string value, std::string source,
                      bool secret) {
  ReadEntry& entry = read_[std::string(key_path)];
  entry.value = std::move(value);
  entry.source = std::move(source);
  entry.secret = entry.secret || secret;
}

void Reader::AddValueError(std::string_view key_path, const RawValue& raw, std::string message) {
  if (raw.env_var) {
    AddErrorAt(key_path, 0, 0, fmt::format("{} (from environment {})", message, *raw.env_var));
  } else {
    AddErrorAt(key_path, raw.line, raw.column, std::move(message));
  }
}

void Reader::AddErrorAt(std::string_view key_path, int line, int column, std::string message) {
  ConfigError error{file_, line, column, std::string(key_path), std::move(message)};
  if (error_texts_.insert(error.ToString()).second) errors_.push_back(std::move(error));
}

void Reader::AddError(std::string_view key_path, std::string message) {
  if (auto env = EnvValue(key_path)) {
    AddErrorAt(key_path, 0, 0,
               fmt::format("{} (from environment {})", message, EnvName(key_path)));
    return;
  }
  const auto found = Find(key_path);
  AddErrorAt(key_path, found ? found->line : 0, found ? found->column : 0, std::move(message));
}

namespace {
std::string Source(const std::optional<std::string>& env_var) {
  return env_var ? "env " + *env_var : std::string();
}
}  // namespace

std::string Reader::String(std::string_view key_path, std::string fallback) {
  const auto raw = Scalar(key_path, "a string", fallback);
  if (!raw) return fallback;
  MarkRead(key_path, raw->text, Source(raw->env_var));
  return raw->text;
}

int64_t Reader::Int(std::string_view key_path, int64_t fallback, int64_t min, int64_t max) {
  const auto raw = Scalar(key_path, IntRange(min, max), std::to_string(fallback));
  if (!raw) return fallback;
  const auto value = ParseInt(raw->text);
  if (!value || *value < min || *value > max) {
    AddValueError(key_path, *raw,
                  fmt::format("expected {}, got {}", IntRange(min, max), Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, std::to_string(*value), Source(raw->env_var));
  return *value;
}

double Reader::Double(std::string_view key_path, double fallback, double min, double max) {
  const auto raw = Scalar(key_path, DoubleRange(min, max), fmt::format("{}", fallback));
  if (!raw) return fallback;
  const auto value = ParseDouble(raw->text);
  if (!value || *value < min || *value > max) {
    AddValueError(key_path, *raw,
                  fmt::format("expected {}, got {}", DoubleRange(min, max), Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, fmt::format("{}", *value), Source(raw->env_var));
  return *value;
}

bool Reader::Bool(std::string_view key_path, bool fallback) {
  const auto raw = Scalar(key_path, "true or false", fallback ? "true" : "false");
  if (!raw) return fallback;
  const auto value = ParseBool(raw->text);
  if (!value) {
    AddValueError(key_path, *raw, fmt::format("expected true or false, got {}", Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, *value ? "true" : "false", Source(raw->env_var));
  return *value;
}

std::chrono::milliseconds Reader::Duration(std::string_view key_path,
                                           std::chrono::milliseconds fallback) {
  const auto raw = Scalar(key_path, "a duration", fmt::format("{}ms", fallback.count()));
  if (!raw) return fallback;
  const auto value = ParseDuration(raw->text);
  if (!value) {
    AddValueError(key_path, *raw, fmt::format("{}, got {}", kDurationExpected, Quote(raw->text)));
    return fallback;
  }
  MarkRead(key_path, fmt::format("{}ms", value->count()), Source(raw->env_var));
  return *value;
}

std::vector<std::string> Reader::StringList(std::string_view key_path,
                                            std::vector<std::string> fallback) {
  if (!read_.contains(std::string(key_path))) MarkRead(key_path, RenderList(fallback), "default");
  if (EnvValue(key_path)) {
    const auto raw = Scalar(key_path, "a list of strings", RenderList(fallback));
    auto items = SplitList(raw->text);
    MarkRead(key_path, RenderList(items), Source(raw->env_var));
    return items;
  }
  const auto found = Find(key_path);
  if (found && found->node.IsSequence()) {
    std::vector<std::string> items;
    bool ok = true;
    size_t index = 0;
    for (auto it = found->node.begin(); it != found->node.end(); ++it, ++index) {
      const YAML::Node& item = *it;
      if (!item.IsScalar()) {
        const auto [line, column] = Position(item);
        AddErrorAt(fmt::format("{}[{}]", key_path, index), line, column,
                   fmt::format("expected a string, got {}", Describe(item)));
        ok = false;
        continue;
      }
      items.push_back(item.Scalar());
    }
    if (!ok) return fallback;
    MarkRead(key_path, RenderList(items), "");
    return items;
  }
  // A scalar (comma-separated) or absent; Scalar() also reports a map here.
  const auto raw = Scalar(key_path, "a list of strings", RenderList(fallback));
  if (!raw) return fallback;
  auto items = SplitList(raw->text);
  MarkRead(key_path, RenderList(items), Source(raw->env_var));
  return items;
}

std::string Reader::Secret(std::string_view key_path) {
  const std::string file_key = std::string(key_path) + "-file";
  MarkRead(key_path, "", "default", true);
  const auto file_raw = Scalar(file_key, "a file path", "");
  if (file_raw) MarkRead(file_key, file_raw->text, Source(file_raw->env_var));
  if (auto env = EnvValue(key_path)) {
    MarkRead(key_path, "set", "env " + EnvName(key_path), true);
    return *env;
  }
  // The secret's own value is never quoted in an error, so it is not read via Scalar().
  if (const auto found = Find(key_path)) {
    if (!found->node.IsScalar()) {
      AddErrorAt(key_path, found->line, found->column,
                 fmt::format("expected a string, got {}", found->node.IsMap() ? "a map" : "a list"));
      return "";
    }
    if (file_raw && !file_raw->env_var) {
      AddErrorAt(key_path, found->line, found->column,
                 fmt::format("set either {} or {}, not both", key_path, file_key));
      return "";
    }
    MarkRead(key_path, "set", "", true);
    return found->node.Scalar();
  }
  if (file_raw) {
    std::FILE* f = std::fopen(file_raw->text.c_str(), "rb");
    if (f == nullptr) {
      AddValueError(file_key, *file_raw,
                    fmt::format("cannot read secret file '{}': {}", file_raw->text,
                                std::strerror(errno)));
      return "";
    }
    std::string content;
    const ReadOutcome outcome = ReadBounded(f, kMaxSecretFileBytes, content);
    const int read_errno = errno;
    std::fclose(f);
    if (outcome == ReadOutcome::kTooLarge) {
      AddValueError(file_key, *file_raw,
                    fmt::format("secret file '{}' is larger than {} bytes", file_raw->text,
                                kMaxSecretFileBytes));
      return "";
    }
    if (outcome == ReadOutcome::kError) {
      AddValueError(file_key, *file_raw,
                    fmt::format("cannot read secret file '{}': {}", file_raw->text,
                                std::strerror(read_errno)));
      return "";
    }
    content = Trim(content);
    if (content.empty()) {
      AddValueError(file_key, *file_raw, fmt::format("secret file '{}' is empty", file_raw->text));
      return "";
    }
    MarkRead(key_path, "set", "file " + file_raw->text, true);
    return content;
  }
  AddErrorAt(key_path, 0, 0,
             fmt::format("missing secret; set {} or {} in the file, or the environment "
                         "variable {}",
                         key_path, file_key, EnvName(key_path)));
  return "";
}

std::string Reader::Secret(std::string_view key_path, std::string fallback) {
  if (!EnvValue(key_path) && !Find(key_path) && !Has(std::string(key_path) + "-file")) {
    MarkRead(key_path, "", "default", true);
    MarkRead(std::string(key_path) + "-file", "", "default");
    return fallback;
  }
  return Secret(key_path);
}

std::string Reader::OneOf(std::string_view key_path, std::string fallback,
                          std::vector<std::string> allowed) {
  std::vector<std::string> quoted;
  for (const auto& a : allowed) quoted.push_back(Quote(a));
  const std::string expected = fmt::format("one of {}", fmt::join(quoted, ", "));
  const auto raw = Scalar(key_path, expected, fallback);
  if (!raw) return fallback;
  if (std::find(allowed.begin(), allowed.end(), raw->text) != allowed.end()) {
    MarkRead(key_path, raw->text, Source(raw->env_var));
    return raw->text;
  }
  std::string message = fmt::format("expected {}, got {}", expected, Quote(raw->text));
  if (auto nearest = SuggestWord(raw->text, allowed)) {
    message += fmt::format("; did you mean '{}'?", *nearest);
  }
  AddValueError(key_path, *raw, std::move(message));
  return fallback;
}

bool Reader::Has(std::string_view key_path) const {
  return EnvValue(key_path).has_value() || Find(key_path).has_value();
}

void Reader::Finish() {
  if (root_.IsMap()) CheckUnknown(root_, "");
  if (!errors_.empty()) throw ConfigErrors(errors_);
}

void Reader::CheckUnknown(const YAML::Node& node, const std::string& path) {
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const auto [line, column] = Position(it->first);
    if (!it->first.IsScalar()) {
      AddErrorAt(path, line, column, "expected a plain key name, got a map or list as a key");
      continue;
    }
    const std::string child = JoinPath(path, it->first.Scalar());
    if (!seen.insert(it->first.Scalar()).second) {
      AddErrorAt(child, line, column, "duplicate key; only the first value is used");
      continue;
    }
    if (read_.contains(child) || invalid_paths_.contains(child)) continue;
    const std::string prefix = child + ".";
    const auto next = read_.lower_bound(prefix);
    const bool is_parent = next != read_.end() && next->first.starts_with(prefix);
    if (is_parent && it->second.IsMap()) {
      CheckUnknown(it->second, child);
      continue;
    }
    std::vector<std::string> known;
    known.reserve(read_.size());
    for (const auto& [key, entry] : read_) known.push_back(key);
    const std::string hint = SuggestKey(child, known);
    AddErrorAt(child, line, column,
               hint.empty() ? std::string("unknown key")
                            : fmt::format("unknown key; did you mean '{}'?", hint));
  }
}

std::string Reader::Redacted() const {
  std::string out;
  for (const auto& [key, entry] : read_) {
    std::string value = entry.value;
    if (entry.secret || LooksSecret(key)) {
      value = entry.source == "default" ? "(not set)" : "***";
    }
    if (value.empty()) value = "\"\"";
    out += fmt::format("{}: {}", key, value);
    if (!entry.source.empty()) out += fmt::format(" ({})", entry.source);
    out += '\n';
  }
  return out;
}

}  // namespace paynotify::config
